#!/usr/bin/env python3
"""Render a sweep's figures to PNG for the docs, with headless Chromium (no network, no kaleido).

    .venv/bin/python scripts/render_sweep_figures.py docs/runs/text2/sweep.json \\
        docs/figures/text2 --title "2-layer text model"

Writes ``<prefix>_model_curves.png`` (:func:`interp.report.sweep_page.model_curves`) and
``<prefix>_<behavior>.png`` (:func:`interp.report.sweep_page.checkpoint_curves`) for
induction and previous-token. Needs a Chromium binary (``--chromium``, default
``/usr/bin/chromium``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

if __name__ == "__main__":  # `scripts/render_sweep_figures.py` from a shell: plotly is in .venv
    from _project_python import use_project_python

    use_project_python(__file__)


def render(fig, png: Path, chromium: str, width: int = 1000, height: int | None = None) -> None:
    from plotly.offline import get_plotlyjs

    height = height or int(fig.layout.height or 600)
    fig.update_layout(width=width, height=height)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><script>" + get_plotlyjs()
        + "</script></head><body style='margin:0'>"
        + fig.to_html(full_html=False, include_plotlyjs=False, config={"staticPlot": True})
        + "</body></html>"
    )
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "figure.html"
        html.write_text(page, encoding="utf-8")
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--window-size={width},{height}", f"--screenshot={png.resolve()}",
             "--virtual-time-budget=5000", html.as_uri()],
            check=True, capture_output=True, timeout=120,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweep", type=Path, help="a sweep.json written by `interp sweep`")
    parser.add_argument("prefix", type=Path, help="output path prefix for the PNG files")
    parser.add_argument("--title", default=None, help="prepended to each figure's title")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)

    from interp.report.sweep_page import checkpoint_curves, has_model_curves, model_curves
    from interp.results.checkpoints import CheckpointSweep

    sweep = CheckpointSweep.from_dict(json.loads(args.sweep.read_text()))
    args.prefix.parent.mkdir(parents=True, exist_ok=True)
    figures = {}
    if has_model_curves(sweep):
        figures["model_curves"] = model_curves(sweep)
    for behavior in ("induction", "previous_token"):
        figures[behavior] = checkpoint_curves(sweep, behavior)
    for name, fig in figures.items():
        if args.title:
            fig.update_layout(title={"text": f"{args.title}: {fig.layout.title.text}"})
        png = args.prefix.with_name(f"{args.prefix.name}_{name}.png")
        render(fig, png, args.chromium)
        print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
