"""Safe, atomic writing of a set of output files, and a reader that checks a set.

A report (``report.html``, ``report.md``, ``report.json``), a sweep (``sweep.html``,
``sweep.json``), a zoo (``zoo.html``, ``zoo.json``) or a circuit (``circuit.html``,
``circuit.md``, ``circuit.json``) is a *set*: files that belong together, named once here
(:data:`REPORT_FILES`, :data:`SWEEP_FILES`, :data:`ZOO_FILES`, :data:`CIRCUIT_FILES`).
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
:class:`MixedOutputError` naming the files and their run ids. A manifest that cannot be
checked (not JSON, no run record or a malformed one, content that breaks its set's schema,
:mod:`interp.io.schemas`) makes an *unknown* set, refused the same way
(:class:`UnknownOutputError`). ``interp check DIR`` (every set, :func:`check_directory`),
and :func:`load_report` / :func:`load_sweep`, read sets this way.
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

from .safe_json import JSONFileError, read_json, validate
from .schemas import CircuitDoc, ManifestDoc, ReportDoc, SweepDoc, ZooDoc

#: Key of the manifest JSON that holds the run id and the other files' sha256.
MANIFEST_KEY = "output_set"


#: The marker appended to every text file of a set except the manifest.
RUN_ID_MARK = "<!-- interp-run-id: {} -->\n"


_RUN_ID_RE = re.compile(rb"<!-- interp-run-id: ([0-9a-f]+) -->\s*\Z")


#: Suffix of every temporary name (hidden names: ``.<output name>.<tag>.<random>.tmp``).
TEMP_SUFFIX = ".tmp"


#: Largest manifest read back (a big model's report.json with its example patterns).
MANIFEST_MAX_BYTES = 512 * 2**20


@dataclass(frozen=True)
class OutputSet:
    """The files of one kind of set: ``files`` maps each document's key to its file name,
    in writing order; ``manifest`` is the key of the JSON document written last; ``schema``
    the pydantic model its manifest is checked against when read back."""

    files: Mapping[str, str]
    manifest: str = "json"
    schema: Any = field(default=None, compare=False)

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
REPORT_FILES = OutputSet({"html": "report.html", "json": "report.json", "markdown": "report.md"},
                         schema=ReportDoc)
SWEEP_FILES = OutputSet({"json": "sweep.json", "html": "sweep.html"}, schema=SweepDoc)
ZOO_FILES = OutputSet({"json": "zoo.json", "html": "zoo.html"}, schema=ZooDoc)
CIRCUIT_FILES = OutputSet({"json": "circuit.json", "html": "circuit.html",
                           "markdown": "circuit.md"}, schema=CircuitDoc)
#: Every set interp writes (``interp check`` looks for each).
OUTPUT_SETS = (REPORT_FILES, SWEEP_FILES, ZOO_FILES, CIRCUIT_FILES)


#: The names of the sets ``interp check`` looks for, manifest first.
REPORT_SET = REPORT_FILES.names
SWEEP_SET = SWEEP_FILES.names


class MixedOutputError(ValueError):
    """A set of output files is incomplete or mixed from different runs; the message
    names the files."""


class UnknownOutputError(MixedOutputError):
    """A set whose manifest cannot be checked or read (not JSON, no or a malformed run
    record, content its schema refuses); the message names the file and the field."""


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
    run_id = _run_id({documents[key][0]: raw[key] for key in documents})
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


def _run_id(files: Mapping[str, bytes]) -> str:
    """The run id of a set's rendered files (name -> bytes, in writing order)."""
    digest = hashlib.sha256()
    for name, data in files.items():
        digest.update(name.encode("utf-8") + b"\0" + data + b"\0")
    return digest.hexdigest()[:16]


def set_run_id(output_set: OutputSet, texts: Mapping[str, str | bytes]) -> str:
    """The run id :func:`write_set` gives ``texts`` written as ``output_set``, known
    before anything is written (another set can then record which one it links)."""
    return _run_id({name: texts[key].encode("utf-8") if isinstance(texts[key], str)
                    else bytes(texts[key]) for key, name in output_set.files.items()})


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
            ``"mixed"`` (a file missing or from another run), ``"missing"`` (no manifest,
            nor any other file of the set), or ``"unknown"`` (a manifest that cannot be
            checked: not JSON, its run record removed or malformed, or its content
            refused by the set's schema).
        run_id: the manifest's run id (None unless its record could be read).
        problems: one sentence per file that does not belong, or why the set is unknown
            (empty when complete).
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
        if self.status == "unknown":
            return "\n".join(
                [f"{where}: UNKNOWN set (cannot check that its files belong together)"]
                + [f"  {p}" for p in self.problems])
        return "\n".join(
            [f"{where}: MIXED set (a write was interrupted between renames, or files were "
             f"copied from different runs); run id {self.run_id}"]
            + [f"  {p}" for p in self.problems]
        )


def _file_run_id(data: bytes) -> str | None:
    match = _RUN_ID_RE.search(data[-200:])
    return match.group(1).decode("ascii") if match else None


def check_output_set(
    out_dir: str | os.PathLike, manifest: str, expected: tuple[str, ...] | list[str] = (),
    schema: Any = None,
) -> OutputSetCheck:
    """Check that the files of a set in ``out_dir`` belong together.

    Args:
        out_dir: the directory that holds the set.
        manifest: the set's JSON file name (``report.json``, ``sweep.json``, ``zoo.json``).
        expected: the set's other file names; when the manifest is missing but one of
            these exists (a first write killed before its last rename), the set is mixed;
            the run record must list them all.
        schema: the manifest's schema (default: that of the set of :data:`OUTPUT_SETS`
            whose manifest is ``manifest``, none for other names).

    Returns:
        An :class:`OutputSetCheck`; ``status == "mixed"`` names every file that is
        missing or whose sha256 is not the one the manifest recorded (with its own run
        id); ``"unknown"`` says why the manifest cannot be checked.
    """
    out = Path(out_dir).expanduser()
    strays = tuple(sorted(
        p.name for p in (out.iterdir() if out.is_dir() else ())
        if p.name.startswith(".") and p.name.endswith(TEMP_SUFFIX)
    ))
    schema = schema or _schema_of(manifest)
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

    def unknown(problem: str, run_id: str | None = None) -> OutputSetCheck:
        return OutputSetCheck(str(out), manifest, "unknown", run_id=run_id,
                              problems=(problem,), stray_temporaries=strays)

    try:
        document = read_json(path, max_bytes=MANIFEST_MAX_BYTES)
    except JSONFileError as err:
        return unknown(str(err))
    if not isinstance(document, dict):
        return unknown(f"{path}: not a JSON object")
    if MANIFEST_KEY not in document:
        return unknown(f"{path}: no run record ({MANIFEST_KEY!r}): it was removed, or an "
                       "interp older than run records wrote it")
    try:
        validate(ManifestDoc, document, source=str(path))
    except JSONFileError as err:
        return unknown(str(err))
    record = document[MANIFEST_KEY]
    run_id = record["run_id"]
    unlisted = [name for name in expected if name not in record["sha256"]]
    if unlisted:
        return unknown(f"{path}: its run record does not list {', '.join(unlisted)}", run_id)
    problems = []
    for name, digest in sorted(record["sha256"].items()):
        file = out / name
        if not file.is_file():
            problems.append(f"{name}: missing")
            continue
        data = file.read_bytes()
        if _sha256(data) != digest:
            other = _file_run_id(data)
            problems.append(
                f"{name}: not the file {manifest} was written with (it carries run id "
                f"{other or 'none'}, {manifest} run id {run_id})"
            )
    if problems:
        return OutputSetCheck(str(out), manifest, "mixed", run_id=run_id,
                              problems=tuple(problems), stray_temporaries=strays)
    if schema is not None:
        try:
            validate(schema, {k: v for k, v in document.items() if k != MANIFEST_KEY},
                     source=str(path))
        except JSONFileError as err:
            return unknown(str(err), run_id)
    return OutputSetCheck(str(out), manifest, "complete", run_id=run_id,
                          stray_temporaries=strays)


def _schema_of(manifest: str) -> Any:
    """The schema of the set of :data:`OUTPUT_SETS` whose manifest is ``manifest``."""
    return next((s.schema for s in OUTPUT_SETS if s.manifest_name == manifest), None)


def check_directory(out_dir: str | os.PathLike) -> list[OutputSetCheck]:
    """The checks of every set of :data:`OUTPUT_SETS` found in ``out_dir``, in that
    order; for a complete zoo those of each listed model's report set
    (``out_dir/<label>/``; one that is absent is mixed); and for a complete report that
    links a circuit (``report.json``'s ``circuit``: the run id of the circuit set it was
    written with, :func:`interp.write_report`) whether that circuit set is there,
    complete, with that run id (otherwise the pair is mixed: a write interrupted between
    the two sets, or files from different runs). Empty when there is none."""
    out = Path(out_dir).expanduser()
    checks = []
    found: dict[str, OutputSetCheck] = {}
    for output_set in OUTPUT_SETS:
        check = check_output_set(out, output_set.manifest_name, output_set.others,
                                 output_set.schema)
        found[output_set.manifest_name] = check
        if check.status == "missing":
            continue
        checks.append(check)
        if output_set is ZOO_FILES and check.status == "complete":
            try:
                document = read_output_set(out, output_set.manifest_name, output_set.others)
            except (OSError, ValueError):  # replaced since it was checked: checked next time
                continue
            for model in document["models"]:  # labels are plain file names (ZooDoc)
                sub = check_output_set(out / model["label"], REPORT_FILES.manifest_name,
                                       REPORT_FILES.others, REPORT_FILES.schema)
                if sub.status == "missing":
                    sub = OutputSetCheck(sub.directory, sub.manifest, "mixed", problems=(
                        f"listed in {out / output_set.manifest_name}, but missing",))
                checks.append(sub)
    linked = _linked_circuit(out, found[REPORT_FILES.manifest_name])
    if linked is not None:
        circuit = found[CIRCUIT_FILES.manifest_name]
        if circuit.status != "complete" or circuit.run_id != linked:
            state = ("missing" if circuit.status == "missing" else
                     f"{circuit.status}, run id {circuit.run_id or 'none'}")
            checks.append(OutputSetCheck(str(out), REPORT_FILES.manifest_name, "mixed",
                                         run_id=found[REPORT_FILES.manifest_name].run_id,
                                         problems=(
                f"{REPORT_FILES.manifest_name} links the circuit set of run id {linked}, "
                f"but {CIRCUIT_FILES.manifest_name} is {state}",)))
    return checks


def _linked_circuit(out: Path, report: OutputSetCheck) -> str | None:
    """The run id of the circuit set a complete report links (None: it links none)."""
    if report.status != "complete":
        return None
    try:
        document = read_output_set(out, REPORT_FILES.manifest_name, REPORT_FILES.others,
                                   REPORT_FILES.schema)
    except (OSError, ValueError):  # replaced since it was checked: checked next time
        return None
    link = document.get("circuit")
    return None if link is None else str(link["run_id"])


def read_output_set(
    out_dir: str | os.PathLike, manifest: str, expected: tuple[str, ...] | list[str] = (),
    schema: Any = None,
) -> dict[str, Any]:
    """The manifest's JSON document, after checking that its set is complete and that the
    document fits its schema (:func:`check_output_set`).

    The ``"output_set"`` record is removed from the returned document.

    Raises:
        FileNotFoundError: no manifest in ``out_dir``.
        MixedOutputError: the set is mixed (the message names the files).
        UnknownOutputError: the manifest cannot be checked or read (the message names the
            file and the field).
    """
    check = check_output_set(out_dir, manifest, expected, schema)
    if check.status == "missing":
        raise FileNotFoundError(f"{Path(out_dir) / manifest} does not exist")
    if check.status == "unknown":
        raise UnknownOutputError(check.problems[0])
    if check.status == "mixed":
        raise MixedOutputError(check.message())
    path = Path(out_dir).expanduser() / manifest
    schema = schema or _schema_of(manifest)
    try:  # read again, checked again: the file may have been replaced since
        document = read_json(path, max_bytes=MANIFEST_MAX_BYTES)
        if not isinstance(document, dict):
            raise JSONFileError(f"{path}: not a JSON object")
        document.pop(MANIFEST_KEY, None)
        if schema is not None:
            validate(schema, document, source=str(path))
    except JSONFileError as err:
        raise UnknownOutputError(str(err)) from None
    return document
