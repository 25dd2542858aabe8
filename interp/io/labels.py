"""Model labels: the names of a sweep's checkpoints and a zoo's models, which a zoo also
uses as directory names (``OUT/<label>/report.html``) and links (``<label>/report.html``).

A label is a plain file name: 1 to :data:`MAX_LABEL_LEN` characters from
``A-Z a-z 0-9 . _ - + @``, not starting with ``.`` (so never ``.``, ``..`` or a hidden
name), and not a name the output directory already uses (:data:`RESERVED_LABELS`, in any
case: ``items``, the set files, and the device names some systems reserve). Without ``/``,
``\\`` or ``:`` a label can neither leave the output directory nor start a URL scheme.

:func:`check_label` refuses a label given by a user; :func:`derive_label` makes one from
a model's name (a directory name, a hub name), replacing what is not allowed.
"""

from __future__ import annotations

import re

#: Longest label (well below any file system's name limit).
MAX_LABEL_LEN = 100


#: Characters a label may hold (it may not start with ``.``).
LABEL_CHARS = "A-Za-z0-9._+@-"


_LABEL = re.compile(rf"[A-Za-z0-9_+@-][{LABEL_CHARS}]{{0,{MAX_LABEL_LEN - 1}}}")
_NOT_ALLOWED = re.compile(rf"[^{LABEL_CHARS}]+")


#: Names a label may not take (compared case-insensitively): the item store, the files of
#: every output set, and names Windows reserves for devices.
RESERVED_LABELS = frozenset(
    {"items", "report.json", "report.html", "report.md", "sweep.json", "sweep.html",
     "zoo.json", "zoo.html", "con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)} | {f"lpt{i}" for i in range(1, 10)}
)


def label_problem(label: object) -> str | None:
    """Why ``label`` is not a valid label (None when it is)."""
    if not isinstance(label, str):
        return f"must be a string, not {type(label).__name__}"
    if not label:
        return "is empty"
    if len(label) > MAX_LABEL_LEN:
        return f"is {len(label)} characters long; at most {MAX_LABEL_LEN}"
    if label.startswith("."):
        return "starts with '.'"
    if not _LABEL.fullmatch(label):
        bad = sorted({c for c in label if not re.fullmatch(f"[{LABEL_CHARS}]", c)})
        return (f"holds {', '.join(repr(c) for c in bad[:5])}; a label is a plain file name "
                f"of the characters {LABEL_CHARS}")
    if label.lower() in RESERVED_LABELS:
        return f"is a reserved name ({label.lower()!r})"
    return None


def check_label(label: object) -> str:
    """``label``, checked (module docstring).

    Raises:
        ValueError: not a plain file name of the allowed characters and length, or reserved.
    """
    problem = label_problem(label)
    if problem is not None:
        shown = repr(label) if not isinstance(label, str) or len(label) <= 60 \
            else repr(label[:60]) + "..."
        raise ValueError(f"label {shown} {problem}")
    return label  # type: ignore[return-value]


def derive_label(name: str) -> str:
    """A valid label made from a model's name: runs of other characters become ``_``,
    leading dots are dropped, the length is cut to :data:`MAX_LABEL_LEN`, and a reserved
    or empty result gets ``-model`` appended (``items`` -> ``items-model``).

    Example:
        >>> derive_label("javascript:alert(1)")
        'javascript_alert_1_'
    """
    text = _NOT_ALLOWED.sub("_", str(name)).lstrip(".")
    text = text[:MAX_LABEL_LEN] or "model"
    if text.lower() in RESERVED_LABELS:
        text = text[: MAX_LABEL_LEN - 6] + "-model"
    return text
