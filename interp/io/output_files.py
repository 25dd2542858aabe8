"""Safe, atomic writing of a set of output files, and a reader that checks a set.

A report (``report.html``, ``report.md``, ``report.json``), a sweep (``sweep.html``,
``sweep.json``) or a zoo (``zoo.html``, ``zoo.json``) is a *set*: files that belong
together, named once here (:data:`REPORT_FILES`, :data:`SWEEP_FILES`, :data:`ZOO_FILES`).
:func:`write_output_set` writes one so that

- every file is written under a fresh temporary name made by ``tempfile.mkstemp`` in the
  target directory (``O_CREAT | O_EXCL | O_NOFOLLOW``): a link or
  file planted in advance at any name is never opened, let alone followed, and the
  temporary names (``.<name>.<random>.tmp``, hidden) never look like an output;
- each temporary is flushed to disk (``fsync``) before it is renamed over its output with
  ``os.replace``, so every output file is at any moment either the old complete file or
  the new complete one (a planted link at an output's name is replaced, not followed);
- on any failure (a full disk, an exception, Ctrl-C) every temporary is removed, and so are
  directories this call created; only ``SIGKILL`` or a power cut can leave a temporary,
  always under a hidden ``.tmp`` name;
- the files of a set carry one **run id**: the first 16 hex digits of the sha256 of the
  set's rendered documents (so the same result gives the same bytes, run after run).
  Text files other than the manifest end with a comment ``<!-- interp-run-id: ID -->``;
  the **manifest** (the set's JSON file) is written *last* and carries, under the key
  ``"output_set"``, the run id and the sha256 of every other file of the set.

A crash between two renames can leave a *mixed* set (a new ``report.html`` beside an old
``report.json``). :func:`check_output_set` detects it (a file whose sha256 is not the one
the manifest recorded), and :func:`read_output_set` refuses it with
:class:`MixedOutputError` naming the files and their run ids. ``interp check DIR``, and
:func:`load_report` / :func:`load_sweep`, read sets this way.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Key of the manifest JSON that holds the run id and the other files' sha256.
MANIFEST_KEY = "output_set"


#: The marker appended to every text file of a set except the manifest.
RUN_ID_MARK = "<!-- interp-run-id: {} -->\n"


_RUN_ID_RE = re.compile(rb"<!-- interp-run-id: ([0-9a-f]+) -->\s*\Z")


#: Suffix of every temporary name (hidden names: ``.<output name>.<tag>.<random>.tmp``).
TEMP_SUFFIX = ".tmp"


@dataclass(frozen=True)
class OutputSet:
    """The files of one kind of set: ``files`` maps each document's key to its file name,
    in writing order; ``manifest`` is the key of the JSON document written last."""

    files: Mapping[str, str]
    manifest: str = "json"

    @property
    def manifest_name(self) -> str:
        """The manifest's file name (``report.json``)."""
        return self.files[self.manifest]

    @property
    def others(self) -> tuple[str, ...]:
        """The other files' names, in writing order."""
        return tuple(name for key, name in self.files.items() if key != self.manifest)

    @property
    def names(self) -> tuple[str, ...]:
        """Every file name, manifest first."""
        return (self.manifest_name, *self.others)


#: The sets interp writes; the only place their file names are spelled.
REPORT_FILES = OutputSet({"html": "report.html", "json": "report.json", "markdown": "report.md"})
SWEEP_FILES = OutputSet({"json": "sweep.json", "html": "sweep.html"})
ZOO_FILES = OutputSet({"json": "zoo.json", "html": "zoo.html"})


#: The names of the sets ``interp check`` looks for, manifest first.
REPORT_SET = REPORT_FILES.names
SWEEP_SET = SWEEP_FILES.names


class MixedOutputError(ValueError):
    """A set of output files is incomplete or mixed from different runs; the message
    names the files."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_output_dir(out_dir: str | os.PathLike) -> Path:
    """Check, before any work, that ``out_dir`` can receive output files.

    The directory need not exist; its nearest existing ancestor must be a directory in
    which a file can be created (tried with a temporary file, removed at once).

    Raises:
        ValueError: ``out_dir`` is empty (it would silently mean the current directory).
        NotADirectoryError: ``out_dir`` or an ancestor is an existing file.
        PermissionError / OSError: the directory cannot be written (the message names it).
    """
    if os.fspath(out_dir).strip() == "":
        raise ValueError("the output directory is empty (''); name a directory, e.g. 'report'")
    out = Path(out_dir).expanduser()
    for path in (out, *out.parents):
        if path.exists() or path.is_symlink():
            if not path.is_dir():
                raise NotADirectoryError(
                    f"cannot write into {str(out)!r}: {str(path)!r} is an existing file, "
                    "not a directory"
                )
            try:
                fd, name = tempfile.mkstemp(prefix=".interp-write-check.", suffix=TEMP_SUFFIX,
                                            dir=path)
            except OSError as err:
                raise type(err)(
                    err.errno, f"cannot write into {str(out)!r}: {str(path)!r} is not "
                    f"writable ({err.strerror})"
                ) from err
            os.close(fd)
            os.unlink(name)
            return out
    return out  # pragma: no cover - the root always exists


def _stamp(name: str, data: bytes, run_id: str) -> bytes:
    """``data`` with the run-id marker appended (text files other than JSON)."""
    if name.endswith(".json"):
        return data
    text = data if data.endswith(b"\n") else data + b"\n"
    return text + RUN_ID_MARK.format(run_id).encode("ascii")


def write_output_set(
    out_dir: str | os.PathLike,
    documents: dict[str, tuple[str, str | bytes]],
    *,
    manifest: str,
) -> dict[str, Path]:
    """Write a set of output files atomically (see the module docstring).

    Args:
        out_dir: directory to write into; created (with parents) if missing.
        documents: key -> ``(file name, content)``; content is text (written as UTF-8)
            or bytes. Names are plain file names (no directories).
        manifest: the key of the set's JSON document (a JSON object), written last with
            the run id and the other files' sha256 under ``"output_set"``.

    Returns:
        key -> path written, in the order of ``documents``.

    Raises:
        ValueError: an empty ``out_dir``, a name with a directory part, or a manifest that
            is not a JSON object.
        NotADirectoryError: ``out_dir`` or a parent is an existing file.
        OSError: writing failed (a full disk, no permission); nothing of the new set is
            left behind unless a rename had already happened (then the set is mixed, and
            :func:`check_output_set` says so).
    """
    if manifest not in documents:
        raise ValueError(f"manifest {manifest!r} is not one of the documents {list(documents)}")
    raw: dict[str, bytes] = {}
    for key, (name, content) in documents.items():
        if not name or Path(name).name != name or name in (".", ".."):
            raise ValueError(f"output file name {name!r} must be a plain file name")
        raw[key] = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    digest = hashlib.sha256()
    for key in documents:
        digest.update(documents[key][0].encode("utf-8") + b"\0" + raw[key] + b"\0")
    run_id = digest.hexdigest()[:16]
    final: dict[str, bytes] = {
        key: _stamp(documents[key][0], raw[key], run_id) for key in documents if key != manifest
    }
    try:
        document = json.loads(raw[manifest].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"manifest {documents[manifest][0]} is not JSON: {err}") from err
    if not isinstance(document, dict):
        raise ValueError(f"manifest {documents[manifest][0]} must be a JSON object")
    document[MANIFEST_KEY] = {
        "run_id": run_id,
        "sha256": {documents[k][0]: _sha256(final[k]) for k in final},
    }
    # Key order is kept (json keeps it); the record goes last.
    final[manifest] = (json.dumps(document, indent=2, allow_nan=False) + "\n").encode("utf-8")
    order = [k for k in documents if k != manifest] + [manifest]

    written = write_files(out_dir, {documents[k][0]: final[k] for k in order})
    return {key: written[documents[key][0]] for key in documents}


def write_set(
    out_dir: str | os.PathLike, output_set: OutputSet, texts: Mapping[str, str | bytes],
) -> dict[str, Path]:
    """Write ``texts`` (key -> content, one per key of ``output_set``) as that set, with
    :func:`write_output_set`. Returns key -> path written."""
    if set(texts) != set(output_set.files):
        raise ValueError(f"documents {sorted(texts)} are not those of the set "
                         f"{sorted(output_set.files)}")
    return write_output_set(
        out_dir, {key: (name, texts[key]) for key, name in output_set.files.items()},
        manifest=output_set.manifest,
    )


def write_files(
    out_dir: str | os.PathLike,
    files: dict[str, bytes],
    *,
    remove: tuple[str, ...] | list[str] = (),
) -> dict[str, Path]:
    """Write ``files`` (name -> bytes) into ``out_dir`` safely, renaming them into place in
    the given order (safe temporaries, ``fsync``, ``os.replace``, cleanup on failure: see
    the module docstring); then delete the names in ``remove`` that exist (stale files
    that must not outlive this write).

    Returns:
        name -> path written.

    Raises:
        ValueError: an empty ``out_dir`` or a name that is not a plain file name.
        NotADirectoryError: ``out_dir`` or a parent is an existing file.
        OSError: writing failed; temporaries (and directories this call created before any
            rename) are removed.
    """
    if os.fspath(out_dir).strip() == "":
        raise ValueError("the output directory is empty (''); name a directory, e.g. 'report'")
    out = Path(out_dir).expanduser()
    for name in [*files, *remove]:
        if not name or Path(name).name != name or name in (".", ".."):
            raise ValueError(f"output file name {name!r} must be a plain file name")
    order = list(files)
    for path in (out, *out.parents):
        if (path.exists() or path.is_symlink()) and not path.is_dir():
            raise NotADirectoryError(
                f"cannot write into {str(out)!r}: {str(path)!r} is an existing file, not a "
                "directory"
            )
    created = [p for p in (out, *out.parents) if not p.exists() and not p.is_symlink()]
    temps: dict[str, str] = {}
    renamed = False
    umask = os.umask(0o022)
    os.umask(umask)
    doing = f"create {str(out)!r}"
    # A fresh tag per call in every temporary's name: on failure, temporaries this call
    # made are found by name even if an interrupt came between mkstemp and the bookkeeping.
    tag = _new_tag()
    try:
        out.mkdir(parents=True, exist_ok=True)
        for key in order:
            doing = f"write {key} into {str(out)!r}"
            fd, temp = tempfile.mkstemp(prefix=f".{key}.{tag}.", suffix=TEMP_SUFFIX, dir=out)
            temps[key] = temp
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), 0o666 & ~umask)  # what open() would have given
                fh.write(files[key])
                fh.flush()
                os.fsync(fh.fileno())
        paths: dict[str, Path] = {}
        for key in order:
            doing = f"rename {key} into place in {str(out)!r}"
            target = out / key
            os.replace(temps[key], target)
            renamed = True
            del temps[key]
            paths[key] = target
        for name in remove:
            stale = out / name
            if name not in files and (stale.is_symlink() or stale.is_file()):
                stale.unlink()
        _fsync_dir(out)
    except BaseException as err:
        for temp in _tagged(out, order, tag) | set(temps.values()):
            try:
                os.unlink(temp)
            except OSError:
                pass
        if not renamed:  # remove the directories this call created
            for path in created:  # deepest first
                try:
                    path.rmdir()
                except OSError:
                    break
        if isinstance(err, OSError) and err.errno is not None:
            # The same exception type, saying what could not be done and where.
            raise type(err)(err.errno, f"cannot {doing}: {err.strerror}") from err
        raise
    return paths


def _new_tag() -> str:
    """8 random hex digits naming one write's temporaries."""
    return secrets.token_hex(4)


def _tagged(out: Path, names: list[str], tag: str) -> set[str]:
    """Temporaries in ``out`` made by the write tagged ``tag``."""
    prefixes = tuple(f".{name}.{tag}." for name in names)
    try:
        return {str(out / entry) for entry in os.listdir(out)
                if entry.startswith(prefixes) and entry.endswith(TEMP_SUFFIX)}
    except OSError:
        return set()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True)
class OutputSetCheck:
    """What :func:`check_output_set` found.

    Attributes:
        directory: the directory checked.
        manifest: the manifest's file name.
        status: ``"complete"`` (every file present and the one the manifest recorded),
            ``"mixed"`` (a file missing or from another run), ``"missing"`` (no manifest),
            or ``"unchecked"`` (a manifest without a run record: an older interp wrote it).
        run_id: the manifest's run id (None when missing or unchecked).
        problems: one sentence per file that does not belong (empty when complete).
        stray_temporaries: hidden temporaries a killed writer left (harmless; may be
            deleted).
    """

    directory: str
    manifest: str
    status: str
    run_id: str | None = None
    problems: tuple[str, ...] = ()
    stray_temporaries: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.status == "complete"

    def message(self) -> str:
        """One line per finding, for a terminal."""
        where = f"{self.directory}/{self.manifest}"
        if self.status == "complete":
            return f"{where}: complete set, run id {self.run_id}"
        if self.status == "missing":
            return f"{where}: missing; nothing to check"
        if self.status == "unchecked":
            return (f"{where}: written by an older interp without a run record; "
                    "cannot check that its files belong together")
        return "\n".join(
            [f"{where}: MIXED set (a write was interrupted between renames, or files were "
             f"copied from different runs); run id {self.run_id}"]
            + [f"  {p}" for p in self.problems]
        )


def _file_run_id(data: bytes) -> str | None:
    match = _RUN_ID_RE.search(data[-200:])
    return match.group(1).decode("ascii") if match else None


def check_output_set(
    out_dir: str | os.PathLike, manifest: str, expected: tuple[str, ...] | list[str] = ()
) -> OutputSetCheck:
    """Check that the files of a set in ``out_dir`` belong together.

    Args:
        out_dir: the directory that holds the set.
        manifest: the set's JSON file name (``report.json``, ``sweep.json``).
        expected: the set's other file names; when the manifest is missing but one of
            these exists (a first write killed before its last rename), the set is mixed.

    Returns:
        An :class:`OutputSetCheck`; ``status == "mixed"`` names every file that is
        missing or whose sha256 is not the one the manifest recorded (with its own run id).
    """
    out = Path(out_dir).expanduser()
    strays = tuple(sorted(
        p.name for p in (out.iterdir() if out.is_dir() else ())
        if p.name.startswith(".") and p.name.endswith(TEMP_SUFFIX)
    ))
    path = out / manifest
    if not path.is_file():
        present = [name for name in expected if (out / name).is_file()]
        if present:
            problems = tuple(
                f"{name}: present without {manifest} (it carries run id "
                f"{_file_run_id((out / name).read_bytes()) or 'none'})" for name in present
            )
            return OutputSetCheck(str(out), manifest, "mixed", problems=problems,
                                  stray_temporaries=strays)
        return OutputSetCheck(str(out), manifest, "missing", stray_temporaries=strays)
    try:
        document = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return OutputSetCheck(str(out), manifest, "mixed",
                              problems=(f"{manifest} is not valid JSON: {err}",),
                              stray_temporaries=strays)
    record = document.get(MANIFEST_KEY) if isinstance(document, dict) else None
    if not isinstance(record, dict) or not isinstance(record.get("sha256"), dict):
        return OutputSetCheck(str(out), manifest, "unchecked", stray_temporaries=strays)
    run_id = str(record.get("run_id"))
    problems = []
    for name, expected in sorted(record["sha256"].items()):
        file = out / name
        if Path(name).name != name or not file.is_file():
            problems.append(f"{name}: missing")
            continue
        data = file.read_bytes()
        if _sha256(data) != expected:
            other = _file_run_id(data)
            problems.append(
                f"{name}: not the file {manifest} was written with (it carries run id "
                f"{other or 'none'}, {manifest} run id {run_id})"
            )
    return OutputSetCheck(str(out), manifest, "mixed" if problems else "complete",
                          run_id=run_id, problems=tuple(problems), stray_temporaries=strays)


def read_output_set(
    out_dir: str | os.PathLike, manifest: str, expected: tuple[str, ...] | list[str] = ()
) -> dict[str, Any]:
    """The manifest's JSON document, after checking that its set is complete.

    The ``"output_set"`` record is removed from the returned document. A manifest written
    by an older interp (no record) is returned as it is.

    Raises:
        FileNotFoundError: no manifest in ``out_dir``.
        MixedOutputError: the set is mixed (the message names the files).
    """
    check = check_output_set(out_dir, manifest, expected)
    if check.status == "missing":
        raise FileNotFoundError(f"{Path(out_dir) / manifest} does not exist")
    if check.status == "mixed":
        raise MixedOutputError(check.message())
    document = json.loads((Path(out_dir).expanduser() / manifest).read_text(encoding="utf-8"))
    document.pop(MANIFEST_KEY, None)
    return document
