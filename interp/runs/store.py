"""The resumable item store: one JSON file per finished item under ``OUT/items/``.

An item's key is a SHA-256 over the model's content and the settings that change its
result, so a rerun computes only what is missing. A stored file is trusted only as far as
it checks out: it is used when it validates against its schema
(:class:`interp.io.schemas.ItemRecord`, and its result against the schema of its kind,
:data:`RESULT_SCHEMAS`) and its record (key, label, source, settings) is the one asked
for; otherwise the item is computed again and the file replaced (:attr:`StoredItem.problem`
says why). ``OUT/items`` must be a real directory: a symbolic link there is refused, and
item files are opened without following links.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..io.output_files import write_files
from ..io.safe_json import JSONFileError, read_validated, validate
from ..io.schemas import CheckpointScoresDoc, ItemRecord, ReportDoc
from .specs import spec_source

#: Directory (under the output directory) holding one JSON file per finished item.
ITEMS_DIR = "items"


#: Bumped when an item's stored form changes (old items are then recomputed).
ITEM_FORMAT = 1


#: Largest item file read (a big model's classification with its example patterns).
ITEM_MAX_BYTES = 512 * 2**20


#: The schema of a stored result, by the kind of task that made it.
RESULT_SCHEMAS = {"checkpoint_scores": CheckpointScoresDoc, "classification": ReportDoc}


class StoreError(ValueError):
    """The item store cannot be used safely (``OUT/items`` is a link, or not a directory)."""


@dataclass(frozen=True)
class Item:
    """One model of a sweep or zoo: its label, its spec, and its store key."""

    label: str
    spec: dict
    key: str | None  # None: the key could not be computed (see error)
    error: str | None = None


@dataclass(frozen=True)
class StoredItem:
    """What :func:`read_item` found: the stored ``result`` when it can be used; else
    ``problem`` (one line naming the file) when a file is there but cannot be used, and
    None for both when nothing is stored."""

    path: Path
    result: dict | None = None
    problem: str | None = None


def item_key(kind: str, content: str, settings: dict) -> str:
    """The store key of one item: SHA-256 over its kind, model content and settings."""
    text = json.dumps({"format": ITEM_FORMAT, "kind": kind, "model": content,
                       "settings": settings}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def items_dir(root: str | Path) -> Path:
    """``root/items``, checked: not a symbolic link, and a directory where it exists.

    Raises:
        StoreError: ``root/items`` is a link or a file.
    """
    path = Path(root) / ITEMS_DIR
    if path.is_symlink():
        raise StoreError(f"{path} is a symbolic link; interp does not follow links in its "
                         "item store: remove it, or write to another directory")
    if path.exists() and not path.is_dir():
        raise StoreError(f"{path} is not a directory; interp keeps its item store there")
    return path


def read_item(root: str | Path, item: Item, kind: str, settings: dict) -> StoredItem:
    """The stored result of ``item``, if a valid file records exactly this request.

    Raises:
        StoreError: ``root/items`` is a link or a file.
    """
    assert item.key is not None
    path = items_dir(root) / f"{item.key}.json"
    if not path.exists() and not path.is_symlink():
        return StoredItem(path)
    try:
        data, _ = read_validated(path, ItemRecord, max_bytes=ITEM_MAX_BYTES, allow_nan=True,
                                 follow_links=False)
        schema = RESULT_SCHEMAS.get(kind)
        if schema is not None:
            validate(schema, data["result"], source=f"{path} result")
    except JSONFileError as err:
        return StoredItem(path, problem=str(err))
    asked = {"key": item.key, "label": item.label, "source": spec_source(item.spec),
             "settings": json.loads(json.dumps(settings))}
    for name, value in asked.items():
        if data[name] != value:
            return StoredItem(path, problem=f"{path}: records {name} {_short(data[name])}, "
                                            f"not {_short(value)}")
    return StoredItem(path, result=data["result"])


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def write_item(root: str | Path, item: Item, result: dict, settings: dict) -> str:
    """Store one result; returns the text written. Keys keep their order (a result's
    behaviors are in report order), so a stored result reads back as the fresh one."""
    assert item.key is not None
    record = {"key": item.key, "label": item.label, "source": spec_source(item.spec),
              "settings": settings, "result": result}
    text = json.dumps(record) + "\n"
    write_files(items_dir(root), {f"{item.key}.json": text.encode("utf-8")})
    return text
