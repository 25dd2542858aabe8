"""Pages and documents from Jinja2 templates (``interp/report/templates/``).

HTML templates (``*.html.j2``) are autoescaped: every value a template prints is escaped
unless it is wrapped in :class:`markupsafe.Markup` here: the plotly figure ``div``\\ s, the
page's JSON block (escaped for ``<script>``), and the CSS and JavaScript package files.
They share ``base.html.j2`` (the skeleton: head, styles, body, footer, scripts).

Markdown templates (``*.md.j2``) are not autoescaped; they print every value from a result
through the ``md`` filter (:func:`markdown_escape`). Their block tags take no line of their
own (``trim_blocks``, ``lstrip_blocks``).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from markupsafe import Markup, escape

#: Plotly's config for every figure (no logo link, resizes with the page).
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@lru_cache(maxsize=2)
def _environment(markdown: bool) -> Any:
    """The Jinja2 environment of HTML templates, or (``markdown``) of Markdown ones."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("interp.report", "templates"),
        autoescape=not markdown,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=markdown,
        lstrip_blocks=markdown,
    )
    if markdown:
        env.filters["md"] = markdown_escape
    else:
        env.filters["breaks"] = break_points
    return env


#: Where a long word may wrap: after ``@ : / + =``, and after a ``.`` before a letter, so
#: that names like ``probe_accuracy:occurred_before@blocks.1.hook_resid_post`` break
#: between their parts and a head label (``18.6``) never does.
_BREAK = re.compile(r"([@:/+=]|\.(?=[A-Za-z]))")


#: Words at least this long get break points.
_LONG_WORD = 14


def break_points(value: Any) -> Markup:
    """``value`` escaped for HTML, with a ``<wbr>`` (a place a line may break) after each
    ``@ : / + =`` (and ``.`` before a letter) inside a word of :data:`_LONG_WORD` characters or more, so long
    identifiers (hook names, metrics, head lists) wrap between their parts instead of
    overflowing or breaking mid-word.

    Example:
        >>> str(break_points("probe_accuracy:x@blocks.1.hook_resid_post"))
        'probe_accuracy:<wbr>x@<wbr>blocks.1.<wbr>hook_resid_post'
    """
    words = []
    for word in str(value).split(" "):
        text = str(escape(word))
        if len(word) >= _LONG_WORD:
            text = _BREAK.sub(r"\1<wbr>", text)
        words.append(text)
    return Markup(" ".join(words))


def asset(name: str) -> Markup:
    """A package file from ``interp/report/templates`` (CSS, JavaScript), inlined as is."""
    text = resources.files("interp.report").joinpath("templates", name).read_text(encoding="utf-8")
    return Markup(text)


def render_page(template: str, **context: Any) -> str:
    """Render ``template`` with ``context`` (autoescaped HTML, or Markdown for a ``.md.j2``
    template); ends in one newline."""
    text = _environment(template.endswith(".md.j2")).get_template(template).render(**context)
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


#: Characters that start Markdown links, images, emphasis, code, tables or HTML; escaped in
#: text taken from a result (``_`` inside words does not emphasize in GitHub Markdown).
_MD_SPECIAL = "\\`*[]|!~"


def markdown_escape(value: Any) -> str:
    """``value`` as literal Markdown text: every Markdown (and HTML) special character is
    escaped and newlines become spaces, so a name like ``![x](http://...)`` stays text.

    Example:
        >>> markdown_escape("*b* <i>")
        '\\\\*b\\\\* &lt;i&gt;'
    """
    out = []
    for ch in str(value).replace("\r", " ").replace("\n", " "):
        if ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == "&":
            out.append("&amp;")
        elif ch in _MD_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)
