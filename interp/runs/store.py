"""The resumable item store: one JSON file per finished item under ``OUT/items/``.

An item's key is a SHA-256 over the model's content and the settings that change its
result, so a rerun computes only what is missing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..io.output_files import write_files
from .specs import spec_source

#: Directory (under the output directory) holding one JSON file per finished item.
ITEMS_DIR = "items"


#: Bumped when an item's stored form changes (old items are then recomputed).
ITEM_FORMAT = 1


@dataclass(frozen=True)
class Item:
    """One model of a sweep or zoo: its label, its spec, and its store key."""

    label: str
    spec: dict
    key: str | None  # None: the key could not be computed (see error)
    error: str | None = None


def item_key(kind: str, content: str, settings: dict) -> str:
    """The store key of one item: SHA-256 over its kind, model content and settings."""
    text = json.dumps({"format": ITEM_FORMAT, "kind": kind, "model": content,
                       "settings": settings}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def read_item(root: Path, key: str) -> dict | None:
    path = root / ITEMS_DIR / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # missing or unreadable: compute it again
    if not isinstance(data, dict) or data.get("key") != key or "result" not in data:
        return None
    return data["result"]


def write_item(root: Path, item: Item, result: dict, settings: dict) -> str:
    """Store one result; returns the text written. Keys keep their order (a result's
    behaviors are in report order), so a stored result reads back as the fresh one."""
    assert item.key is not None
    record = {"key": item.key, "label": item.label, "source": spec_source(item.spec),
              "settings": settings, "result": result}
    text = json.dumps(record) + "\n"
    write_files(root / ITEMS_DIR, {f"{item.key}.json": text.encode("utf-8")})
    return text
