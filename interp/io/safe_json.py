"""Reading JSON that anyone may have written: bounded, depth-limited, finite, checked.

Every JSON file interp reads (model configs, spec files, stored items, ``report.json``,
``sweep.json``, ``zoo.json``) goes through :func:`read_json` / :func:`parse_json`, then
:func:`validate` against its schema (:mod:`interp.io.schemas`, pydantic):

- at most ``max_bytes`` are read (a bigger file is refused, never read to the end);
- nesting deeper than :data:`MAX_DEPTH` is refused before parsing (Python's parser would
  recurse, and 100,000 nested brackets end in ``RecursionError``);
- numbers must be finite: ``Infinity`` and numbers that overflow a float (``1e309``) are
  refused; ``NaN`` only where ``allow_nan`` (the item store, whose writer records a missing
  value so);
- a schema violation is one line naming the file and the field (``models[2].label: ...``).

Every problem is a :class:`JSONFileError` (a ``ValueError``). Also :func:`safetensors_header`:
a ``.safetensors`` file's tensor names, dtypes and shapes from its header alone (cheap).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .schemas import SafetensorsHeader

#: Deepest nesting of arrays and objects accepted (interp's own files stay below 10).
MAX_DEPTH = 64


#: Largest ``.safetensors`` header read (the format's own limit is 100 MB).
MAX_SAFETENSORS_HEADER = 100 * 2**20


class JSONFileError(ValueError):
    """A JSON file that cannot be used: unreadable, too big, too deep, not JSON, a number
    that is not finite, or a field its schema refuses. The message is one line naming the
    file and, for a schema violation, the field."""


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def nesting_depth(text: str, limit: int | None = None) -> int:
    """The deepest nesting of ``[]``/``{}`` in JSON text (brackets inside strings do not
    count); stops counting past ``limit``."""
    skeleton = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = peak = 0
    for ch in skeleton:
        if ch in "[{":
            depth += 1
            if depth > peak:
                peak = depth
                if limit is not None and peak > limit:
                    return peak
        else:
            depth -= 1
    return peak


def parse_json(
    text: str | bytes, *, source: str, max_depth: int = MAX_DEPTH, allow_nan: bool = False,
) -> Any:
    """Parse JSON text with the limits of the module docstring.

    Raises:
        JSONFileError: not UTF-8, nested deeper than ``max_depth``, not JSON, or a
            non-finite number (the message names ``source``).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            raise JSONFileError(f"{source}: not UTF-8 text ({_one_line(err)})") from None
    if nesting_depth(text, max_depth) > max_depth:
        raise JSONFileError(f"{source}: JSON nested deeper than {max_depth} levels")

    def constant(name: str) -> float:
        if name == "NaN" and allow_nan:
            return math.nan
        raise ValueError(f"{name} is not a finite number")

    def number(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            raise ValueError(f"number {literal[:40]} is out of range (not finite)")
        return value

    try:
        return json.loads(text, parse_constant=constant, parse_float=number)
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
        raise JSONFileError(f"{source}: not valid JSON: {_one_line(err)}") from None


def read_json(
    path: str | os.PathLike, *, max_bytes: int, max_depth: int = MAX_DEPTH,
    allow_nan: bool = False, follow_links: bool = True,
) -> Any:
    """Read and parse a JSON file (:func:`parse_json`), reading at most ``max_bytes``.

    Args:
        follow_links: False to refuse a symbolic link at ``path`` (``O_NOFOLLOW``).

    Raises:
        JSONFileError: the file cannot be read, is not a regular file (a FIFO, a device),
            holds more than ``max_bytes``, or is not acceptable JSON.
    """
    file = Path(path)
    # never blocks on a FIFO: it is opened without waiting, then refused
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (
        0 if follow_links else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(file, flags)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise JSONFileError(f"{file}: not a regular file")
            data = fh.read(max_bytes + 1)
    except OSError as err:
        raise JSONFileError(f"{file}: cannot read it ({err.strerror or err})") from None
    if len(data) > max_bytes:
        raise JSONFileError(f"{file}: larger than {_size(max_bytes)}, more than interp reads")
    return parse_json(data, source=str(file), max_depth=max_depth, allow_nan=allow_nan)


def _size(n: int) -> str:
    return f"{n // 2**20} MiB" if n >= 2**20 else f"{n} bytes"


#: Steps of a pydantic error location that name a branch of a union, not a field.
_UNION_STEP = re.compile(r"^(constrained-\w+|function-\w+\[.*\]|\w+\[.*\]|int|float|str|bool|"
                         r"[A-Z]\w*(Doc|Config|Entry|Record|Header)?)$")


def location(loc: tuple) -> str:
    """A pydantic error location as a field path: ``models[2].label`` (empty for the top
    level; union branches left out)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _UNION_STEP.match(str(part)) or not out:
            out += ("." if out else "") + str(part)
    return out


_PHRASES = {
    "int_type": "must be an integer", "int_parsing": "must be an integer",
    "int_from_float": "must be an integer", "float_type": "must be a number",
    "float_parsing": "must be a number", "string_type": "must be a string",
    "bool_type": "must be true or false", "dict_type": "must be an object",
    "model_type": "must be an object", "model_attributes_type": "must be an object",
    "list_type": "must be a list", "tuple_type": "must be a list", "missing": "is missing",
    "none_required": "must be null",
}


def _describe(error: Mapping[str, Any]) -> str:
    """One pydantic error as ``field: what is wrong``."""
    loc = tuple(error.get("loc", ()))
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        where = location(loc[:-1])
        return f"{where}{': ' if where else ''}unknown keys [{str(loc[-1])!r}]"
    if kind in _PHRASES:
        text = _PHRASES[kind]
    else:
        text = str(error.get("msg", "is not valid"))
        text = re.sub(r"^(Value error|Assertion failed), ", "", text)
        text = re.sub(r"^Input should be ", "must be ", text)
        text = re.sub(r"^(List|String|Dictionary|Tuple|Data) should ", "must ", text)
    shown = "" if kind in ("missing", "extra_forbidden") else _shown(error.get("input"))
    where = location(loc)
    return f"{where}{' ' if where else ''}{text}{shown}"


def _shown(value: Any) -> str:
    if isinstance(value, (dict, list)) or value is None:
        return ""
    text = repr(value)
    return f" (got {text[:40]}{'...' if len(text) > 40 else ''})"


def validate(schema: type[BaseModel], data: Any, *, source: str) -> BaseModel:
    """``schema.model_validate(data)``, a violation raised as one line naming ``source`` and
    the field (the first problem found, and how many more there are).

    Raises:
        JSONFileError: ``data`` does not fit ``schema``.
    """
    try:
        return schema.model_validate(data)
    except ValidationError as err:
        errors = err.errors(include_url=False)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise JSONFileError(_one_line(f"{source}: {_describe(errors[0])}{more}")) from None
    except RecursionError:  # pragma: no cover - parse_json bounds the depth first
        raise JSONFileError(f"{source}: nested too deeply") from None


def read_validated(
    path: str | os.PathLike, schema: type[BaseModel], *, max_bytes: int,
    max_depth: int = MAX_DEPTH, allow_nan: bool = False, follow_links: bool = True,
) -> tuple[Any, BaseModel]:
    """:func:`read_json` then :func:`validate`: ``(the parsed data as read, the validated
    model)``. Callers use the data as read (the model only checks it), so what a valid
    file holds reaches them unchanged."""
    data = read_json(path, max_bytes=max_bytes, max_depth=max_depth, allow_nan=allow_nan,
                     follow_links=follow_links)
    return data, validate(schema, data, source=str(path))


def safetensors_header(
    path: str | os.PathLike, *, max_bytes: int = MAX_SAFETENSORS_HEADER,
) -> dict[str, dict]:
    """The tensors a ``.safetensors`` file declares, from its header alone (8 bytes of
    length, then JSON): name -> ``{"dtype": str, "shape": [int, ...]}``, metadata left out.

    Raises:
        JSONFileError: the file cannot be read, its header is larger than ``max_bytes`` or
            than the file, not JSON, or not a map of tensors with shapes and data offsets
            inside the file.
    """
    file = Path(path)
    try:
        with open(file, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(8)
            if len(head) < 8:
                raise JSONFileError(f"{file}: too short for a safetensors header")
            (length,) = struct.unpack("<Q", head)
            if length > max_bytes or 8 + length > size:
                raise JSONFileError(f"{file}: corrupt or not safetensors (a header of "
                                    f"{length} bytes in a file of {size})")
            raw = fh.read(length)
    except OSError as err:
        raise JSONFileError(f"{file}: cannot read it ({err.strerror or err})") from None
    data = parse_json(raw, source=f"{file} (safetensors header)", max_depth=8)
    validate(SafetensorsHeader, {"tensors": data, "data_size": size - 8 - length},
             source=f"{file} (safetensors header)")
    return {name: {"dtype": entry["dtype"], "shape": list(entry["shape"])}
            for name, entry in data.items() if name != "__metadata__"}
