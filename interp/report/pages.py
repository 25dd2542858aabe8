"""HTML pages from Jinja2 templates (``interp/report/templates/``), autoescaped.

Every value a template prints is escaped unless it is wrapped in :class:`markupsafe.Markup`
here: the plotly figure ``div``\\ s, the page's JSON block (escaped for ``<script>``), and
the CSS and JavaScript package files. Templates share ``base.html.j2`` (the skeleton:
head, styles, body, footer, scripts).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from markupsafe import Markup

#: Plotly's config for every figure (no logo link, resizes with the page).
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("interp.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
    )


def asset(name: str) -> Markup:
    """A package file from ``interp/report/templates`` (CSS, JavaScript), inlined as is."""
    text = resources.files("interp.report").joinpath("templates", name).read_text(encoding="utf-8")
    return Markup(text)


def render_page(template: str, **context: Any) -> str:
    """Render ``template`` with ``context`` (autoescaped); ends in one newline."""
    text = _environment().get_template(template).render(**context)
    return text.rstrip("\n") + "\n"


def figure_divs(figures: list[tuple[str, Any]]) -> dict[str, Markup]:
    """HTML ``div`` per ``(div id, plotly figure)``; plotly.js is inlined in the first only,
    and the ids are fixed, so the same figures give the same bytes."""
    return {
        div_id: Markup(fig.to_html(full_html=False, include_plotlyjs=(i == 0), div_id=div_id,
                                   config=PLOT_CONFIG))
        for i, (div_id, fig) in enumerate(figures)
    }


def script_json(data: Any) -> Markup:
    """``data`` as JSON safe inside ``<script>``: every ``<``, ``>`` and ``&`` is written as a
    ``\\u`` escape, so no ``</script>`` or ``<!--`` can occur. NaN must already be None."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
