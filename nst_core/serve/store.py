"""``RunStore``: finished runs kept on disk, opened by an unguessable id from any session or process.

The README's "Stored runs" and "What the server keeps, refuses and survives" say what ``root`` holds
(``index.sqlite3``, ``runs/<id>/``, ``images/<sha256>``, ``instances/``, ``tmp/``) and what it survives.
Here: a run is written under ``tmp/``, renamed into ``runs/`` and only then indexed, so a reader sees it
whole or not at all, even when the writer dies half way. Ids are checked against a strict pattern before
any path is built from them, so nothing outside ``root`` is ever read or written. A process with queued
runs holds a lock on ``instances/<its id>``, which the kernel drops however it dies: its runs are then
``interrupted``, and exactly one caller may take each back (``claim_interrupted``).
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
import threading
import time
import zipfile
from collections.abc import Callable, Collection, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, Any, Final, TypeVar

from torch import Tensor

from ..errors import ArchiveError, RunNotFoundError, StoredRunError, StoreFullError, StoreUnavailableError
from ..images import content_digest
from ..optim.config import RunConfig
from ..optim.result import LossScaling, Snapshot, StepRecord
from .files import (
    GRAMS_FILE,
    HISTORY_FILE,
    IMAGE_FILE,
    PIXELS_FILE,
    REQUIRED_FILES,
    SNAPSHOTS_FILE,
    RunLike,
    check_run_files,
    config_from_description,
    history_from_description,
    is_run_file,
    read_history,
    read_pixels,
    read_snapshots,
    read_style_grams,
    run_files,
    scaling_from_description,
    zip_files,
)
from .validation import RunDataError, check_png

ID_BYTES: Final = 16
"""Random bytes per id: 128 bits, drawn from ``secrets``; ``secrets.token_urlsafe`` writes them in 22 characters."""
_ID: Final = re.compile(r"[A-Za-z0-9_-]{22,64}")

DEFAULT_MAX_ARCHIVE_BYTES: Final = 1 << 30
"""The most an imported ZIP may unpack to (its members' real sizes, not what its headers claim)."""
MAX_ARCHIVE_MEMBERS: Final = 100_000
STALE_S: Final = 3600.0
"""A write still unfinished after this long was abandoned (its process died): its leftovers are removed."""
UPLOAD_GRACE_S: Final = 3600.0
"""An upload no stored run names is kept at least this long after its last use: a session of another
process sharing the folder may hold it (this process's own sessions are named by ``prune``'s caller)."""
INTERRUPTED_KEPT_S: Final = 7 * 24 * 3600.0
"""How long an interrupted run stays on offer to its owner for a relaunch."""
UPLOAD_REFERENCE: Final = re.compile(r"upload ([0-9a-f]{64})")
"""How a stored config names a stored upload: ``upload <its id>`` (the SHA-256 of its bytes)."""
_TIMEOUT_S: Final = 60.0
_FULL_ERRNOS: Final = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY_ERRNOS: Final = {errno.EROFS, errno.EACCES, errno.EPERM}

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    owner TEXT,
    title TEXT,
    size INTEGER NOT NULL,
    steps INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    content TEXT NOT NULL,
    style TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created);
CREATE INDEX IF NOT EXISTS runs_owner ON runs (owner, created);
CREATE TABLE IF NOT EXISTS pending (
    id TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    created REAL NOT NULL,
    owner TEXT,
    title TEXT,
    config TEXT NOT NULL,
    content TEXT NOT NULL,
    style TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_owner ON pending (owner, created);
"""
_PENDING_COLUMNS: Final = "id, instance, created, owner, title, config, content, style"
_COLUMNS: Final = "id, created, owner, title, size, steps, width, height, content, style"

T = TypeVar("T")


def default_root() -> Path:
    """The data folder: ``$STYLE_LENS_DATA`` if set, else ``$XDG_DATA_HOME/style-lens``
    (``~/.local/share/style-lens``)."""
    if configured := os.environ.get("STYLE_LENS_DATA"):
        return Path(configured).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home).expanduser() / "style-lens"


def new_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def is_valid_id(value: object) -> bool:
    """Whether ``value`` has the shape of an id (a store only ever builds paths from such strings)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def _checked_id(value: object, what: str = "run") -> str:
    if not is_valid_id(value):
        shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
        raise RunNotFoundError(f"There is no stored {what} {shown}: that is not a valid id.")
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class RunEntry:
    """One line of ``RunStore.list``: a run's index row, no arrays. ``created`` is seconds since the epoch;
    ``size`` the bytes of its folder; ``content`` / ``style`` describe the images (names, not pixels)."""

    id: str
    created: float
    owner: str | None
    title: str | None
    size: int
    steps: int
    width: int
    height: int
    content: str
    style: str


@dataclass(frozen=True)
class InterruptedRun:
    """A run that was queued or running in a process that died (a server restart, a crash). ``config`` is
    its ``RunConfig.describe()``, images named (an example's name, ``upload <id>``); ``content`` / ``style``
    name its images as a stored run's entry does."""

    id: str
    instance: str
    created: float
    owner: str | None
    title: str | None
    config: dict[str, Any]
    content: str
    style: str


class StoredRun:
    """A stored run, with a ``RunResult``'s attributes plus its index entry's (``id``, ``created``, ``owner``,
    ``title``).

    The history and settings are read when it is opened; ``image``, ``snapshots`` and ``style_grams``
    on first access. A missing or damaged file raises ``StoredRunError`` there.
    """

    def __init__(self, entry: RunEntry, read: Callable[[str], bytes]) -> None:
        self.entry = entry
        self.id, self.created, self.owner, self.title = entry.id, entry.created, entry.owner, entry.title
        self._read = read
        document = self._load(HISTORY_FILE, read_history)
        try:
            self.config: RunConfig = config_from_description(document["config"])
            self.history: list[StepRecord] = history_from_description(document["history"])
            self.loss_scaling: LossScaling = scaling_from_description(document["loss_scaling"])
            self.weights_source: str = str(document["weights_source"])
            self.device: str = str(document["device"])
            self.precision: str = str(document["precision"])
            self.seconds: float = float(document["seconds"])
            self._snapshot_steps = [int(step) for step in document["snapshot_steps"]]
        except (KeyError, TypeError, ValueError) as error:
            raise self._damaged(HISTORY_FILE, error) from error
        self._document = document

    @cached_property
    def image(self) -> Tensor:
        """The final image, (1, 3, H, W) float32 in [0, 1]: the exact pixels the run ended with."""
        return self._load(PIXELS_FILE, lambda data: read_pixels(data, self._document["image_size"]))

    @cached_property
    def snapshots(self) -> list[Snapshot]:
        return self._load(SNAPSHOTS_FILE, lambda data: read_snapshots(data, self._snapshot_steps))

    @cached_property
    def style_grams(self) -> dict[str, Tensor]:
        return self._load(GRAMS_FILE, read_style_grams)

    def to_json(self, indent: int | None = None) -> str:
        """The run's history.json, as ``RunResult.to_json`` wrote it."""
        return json.dumps(self._document, indent=indent)

    def load(self) -> StoredRun:
        """Read and check every file now (``StoredRunError`` naming the run if one is damaged); returns ``self``."""
        _ = self.image, self.snapshots, self.style_grams
        self._load(IMAGE_FILE, lambda data: check_png(data, IMAGE_FILE, self._document["image_size"]))
        return self

    def _load(self, name: str, reader: Callable[[bytes], T]) -> T:
        try:
            return reader(self._read(name))
        except Exception as error:  # noqa: BLE001 (garbage makes NumPy, json, zipfile raise anything)
            raise self._damaged(name, error) from error

    def _damaged(self, name: str, error: BaseException) -> StoredRunError:
        return StoredRunError(f"Stored run {self.entry.id} is damaged: its {name} cannot be read ({error}).")


class RunStore:
    """Finished runs on disk under ``root`` (created if missing); safe to share between threads and processes.
    Unknown, malformed or hostile ids raise ``RunNotFoundError``."""

    def __init__(self, root: str | os.PathLike[str], *, max_archive_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES) -> None:
        self.root = Path(root).expanduser().resolve()
        self.max_archive_bytes = max_archive_bytes
        self._runs, self._images, self._tmp, self._instances = (
            self.root / name for name in ("runs", "images", "tmp", "instances")
        )
        try:
            for folder in (self._runs, self._images, self._tmp, self._instances):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _write_error(error, "anything") from error
        self._index = self.root / "index.sqlite3"
        self._create_index()
        self._instance_lock = threading.Lock()
        self._instance: str | None = None
        self._instance_file: IO[bytes] | None = None
        self._sweep()

    # Runs

    def put(self, result: RunLike, *, owner: str | None = None, title: str | None = None) -> str:
        """Store a finished run (a ``RunResult``, or a ``StoredRun``); return its new id. ``StoreFullError``
        when the disk refuses it (nothing of it is left behind)."""
        return self._add(run_files(result), owner=owner, title=title)

    def get(self, run_id: object) -> StoredRun:
        """The stored run ``run_id``; ``RunNotFoundError`` if there is none, ``StoredRunError`` if it is damaged."""
        entry = self.entry(run_id)
        folder = self._runs / entry.id
        return StoredRun(entry, lambda name: (folder / name).read_bytes())

    def entry(self, run_id: object) -> RunEntry:
        """The index entry of ``run_id`` (no file is read); ``RunNotFoundError`` if there is none."""
        checked = _checked_id(run_id)
        with self._db() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (checked,)).fetchone()
        if row is None:
            raise RunNotFoundError(f"There is no stored run {checked}: it never existed or was deleted.")
        return RunEntry(*row)

    def list(self, owner: str | None = None, limit: int | None = 50) -> list[RunEntry]:
        """The runs newest first (only ``owner``'s when given), at most ``limit`` (None: all)."""
        where, args = ("WHERE owner = ?", [owner]) if owner is not None else ("", [])
        query = f"SELECT {_COLUMNS} FROM runs {where} ORDER BY created DESC, rowid DESC LIMIT ?"
        with self._db() as db:
            rows = db.execute(query, [*args, -1 if limit is None else max(int(limit), 0)]).fetchall()
        return [RunEntry(*row) for row in rows]

    def delete(self, run_id: object) -> None:
        """Remove a run (``RunNotFoundError`` if there is none): it leaves the index first, then the disk."""
        checked = _checked_id(run_id)
        with self._db() as db:
            if db.execute("DELETE FROM runs WHERE id = ?", (checked,)).rowcount == 0:
                raise RunNotFoundError(f"There is no stored run {checked}.")
        self._remove(self._runs / checked)

    def usage(self) -> int:
        """The bytes the stored runs and uploads take: what ``prune``'s ``max_bytes`` bounds."""
        with self._db() as db:
            (runs,) = db.execute("SELECT COALESCE(SUM(size), 0) FROM runs").fetchone()
        return int(runs) + sum(size for size, _ in self._uploads().values())

    def prune(
        self,
        max_runs: int | None = None,
        max_bytes: int | None = None,
        max_age_s: float | None = None,
        keep_images: Collection[str] = (),
    ) -> int:
        """Delete the oldest runs until at most ``max_runs`` remain, runs and uploads take at most ``max_bytes``
        together and no run is older than ``max_age_s`` seconds; return how many runs were deleted.

        Uploads go first, oldest first: those no stored or pending run names, that are not in
        ``keep_images`` (the uploads of the caller's live sessions) and were not used for ``UPLOAD_GRACE_S``,
        while the total is over ``max_bytes`` or when older than ``max_age_s``. Also clears abandoned writes
        and interrupted runs older than ``INTERRUPTED_KEPT_S``."""
        now = time.time()
        total = self._prune_uploads(max_bytes, max_age_s, set(keep_images), now)
        with self._db() as db:
            rows = db.execute("SELECT id, created, size FROM runs ORDER BY created ASC, rowid ASC").fetchall()
        remaining, removed = len(rows), 0
        for run_id, created, size in rows:
            too_many = max_runs is not None and remaining > max_runs
            too_big = max_bytes is not None and total > max_bytes
            too_old = max_age_s is not None and now - created > max_age_s
            if not (too_many or too_big or too_old):
                break
            remaining, total = remaining - 1, total - size
            with suppress(RunNotFoundError):  # another process deleted it meanwhile
                self.delete(run_id)
                removed += 1
        if removed:  # the uploads only the deleted runs named may go now
            self._prune_uploads(max_bytes, max_age_s, set(keep_images), now)
        self._forget_interrupted(now - INTERRUPTED_KEPT_S)
        self._sweep()
        return removed

    # ZIP archives: the same files as a run's folder

    def archive(self, run_id: object) -> bytes:
        """The stored run as the ZIP its download gives (its folder's files)."""
        entry = self.entry(run_id)
        folder = self._runs / entry.id
        names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
        missing = [name for name in REQUIRED_FILES if name not in names]
        try:
            if missing:
                raise FileNotFoundError(f"its {', '.join(missing)} is missing")
            return zip_files({name: (folder / name).read_bytes() for name in names if is_run_file(name)})
        except OSError as error:
            raise StoredRunError(f"Stored run {entry.id} is damaged: {error}.") from error

    def import_archive(
        self, source: str | os.PathLike[str] | bytes, *, owner: str | None = None, title: str | None = None
    ) -> str:
        """Store the run a downloaded ZIP holds (path or bytes); return its new id. ``ArchiveError`` if
        the data is not such a ZIP, holds anything a run does not, unpacks past ``max_archive_bytes``, or
        any file fails its check (``serve.validation``: history.json's schema and settings, every array's
        dtype, shape per layer and finite values); nothing is written then."""
        files = self._unpack(source)
        if missing := [name for name in REQUIRED_FILES if name not in files]:
            raise ArchiveError(f"This ZIP is not a Style Lens run: it has no {', '.join(missing)}.")
        try:
            check_run_files(files)
        except RunDataError as error:
            raise ArchiveError(f"This ZIP's run data is damaged: {error}.") from error
        return self._add(files, owner=owner, title=title)

    # Uploads, kept for share links and stored runs

    def put_image(self, data: bytes) -> str:
        """Keep an uploaded image's bytes; return its id, the SHA-256 of the bytes (the same bytes again
        are the same file). ``StoreFullError`` when the disk refuses them."""
        if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
            raise ValueError("put_image takes the non-empty bytes of an image file")
        data = bytes(data)
        image_id = content_digest(data)
        target = self._images / image_id
        if target.is_file():
            _touch(target)
            return image_id
        temporary = self._tmp / new_id()
        try:
            with open(temporary, "xb") as file:
                file.write(data)
            os.replace(temporary, target)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise _write_error(error, "this image") from error
        return image_id

    def get_image(self, image_id: object) -> bytes:
        """The bytes ``put_image`` kept under ``image_id``; ``RunNotFoundError`` if there are none."""
        checked = _checked_id(image_id, "image")
        path = self._images / checked
        try:
            data = path.read_bytes()
        except OSError as error:
            raise RunNotFoundError(f"There is no stored image {checked}.") from error
        _touch(path)
        return data

    # The queue, across restarts

    def record_pending(
        self, job_id: str, config: RunConfig, *, owner: str | None, title: str | None, content: str, style: str
    ) -> None:
        """Record a queued run of this process (its images named ``content`` / ``style``; a region mask,
        given as bytes, is kept as an upload), so that a restart finds it: see ``interrupted``."""
        if (regions := config.regions) is not None:
            regions = [f"upload {self.put_image(mask)}" if isinstance(mask, bytes) else mask for mask in regions]
        described = dataclasses.replace(config, content=content, style=style, regions=regions).describe()
        pending = InterruptedRun(
            _checked_id(job_id, "job"), self._own_instance(), time.time(), owner, title, described, content, style
        )
        self._insert_pending("REPLACE", pending)

    def forget_pending(self, job_id: str) -> None:
        """The run ``job_id`` ended (stored, failed or cancelled): it is no longer pending."""
        with self._db() as db:
            db.execute("DELETE FROM pending WHERE id = ?", (job_id,))

    def interrupted(self, owner: str | None = None) -> list[InterruptedRun]:
        """Runs that were queued or running in a process that has died, oldest first (only ``owner``'s when given)."""
        where, args = ("WHERE owner = ?", [owner]) if owner is not None else ("", [])
        with self._db() as db:
            rows = db.execute(f"SELECT {_PENDING_COLUMNS} FROM pending {where} ORDER BY created", args).fetchall()
        return [_interrupted(row) for row in rows if not self._alive(row[1])]

    def claim_interrupted(self, job_id: object, owner: str | None = None) -> InterruptedRun | None:
        """Take an interrupted run off the list to run it again; None when it is not interrupted (its
        process lives), not ``owner``'s, or another caller (a second tab, another process) took it first:
        one caller only ever gets it."""
        checked = _checked_id(job_id, "job")
        with self._db() as db:
            row = db.execute(f"SELECT {_PENDING_COLUMNS} FROM pending WHERE id = ?", (checked,)).fetchone()
        if row is None or self._alive(row[1]) or (owner is not None and row[3] != owner):
            return None
        with self._db() as db:
            taken = db.execute("DELETE FROM pending WHERE id = ? AND instance = ?", (checked, row[1])).rowcount
        return _interrupted(row) if taken == 1 else None

    def release_interrupted(self, interrupted: InterruptedRun) -> None:
        """Put a claimed run back on offer (its relaunch was refused: the queue was full, say)."""
        self._insert_pending("IGNORE", interrupted)

    def _insert_pending(self, conflict: str, run: InterruptedRun) -> None:
        values = {f.name: getattr(run, f.name) for f in dataclasses.fields(run)} | {"config": json.dumps(run.config)}
        columns, names = ", ".join(values), ", ".join(f":{name}" for name in values)
        with self._db() as db:
            db.execute(f"INSERT OR {conflict} INTO pending ({columns}) VALUES ({names})", values)

    def config_of(self, interrupted: InterruptedRun) -> RunConfig:
        """The ``RunConfig`` to run an interrupted run again: its stored uploads read back as bytes, examples
        by name. ``RunNotFoundError`` when an upload it needs was removed meanwhile."""
        config = config_from_description(interrupted.config)

        def image(source: Any) -> Any:
            match = UPLOAD_REFERENCE.fullmatch(source) if isinstance(source, str) else None
            return self.get_image(match[1]) if match else source

        styles = [image(source) for source in config.resolved().style]
        regions = None if config.regions is None else [image(mask) for mask in config.regions]
        return dataclasses.replace(
            config, content=image(config.content), style=styles if len(styles) > 1 else styles[0], regions=regions
        )

    # Internals

    def _create_index(self) -> None:
        """Switch the index to WAL and create its tables. SQLite answers "database is locked" at once,
        without waiting on the connection's timeout, when another process opening the same new store holds
        the lock the switch needs (seen with two servers starting together), so that is tried again."""
        deadline = time.monotonic() + _TIMEOUT_S
        while True:
            try:
                with self._db() as db:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.executescript(_SCHEMA)
                return
            except StoreUnavailableError as error:
                if "locked" not in str(error.__cause__) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own for each call (threads and processes never share one), in one transaction."""
        try:
            with closing(sqlite3.connect(self._index, timeout=_TIMEOUT_S)) as db, db:
                yield db
        except sqlite3.DatabaseError as error:  # a vanished, read-only or full data folder; a lock held too long
            text = str(error).lower()
            if "full" in text or "readonly" in text or "read-only" in text:
                raise StoreFullError(_FULL if "full" in text else _READ_ONLY) from error
            raise StoreUnavailableError(
                "The stored runs cannot be read or written right now; try again later, or ask whoever runs "
                "this server to check its data folder (STYLE_LENS_DATA)."
            ) from error

    def _add(self, files: dict[str, bytes], *, owner: str | None, title: str | None) -> str:
        document = read_history(files[HISTORY_FILE])
        run_id = new_id()
        temporary = self._tmp / new_id()
        try:
            for name, data in files.items():
                path = temporary / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            os.replace(temporary, self._runs / run_id)
        except OSError as error:
            shutil.rmtree(temporary, ignore_errors=True)
            raise _write_error(error, "this run") from error
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        config = document["config"]
        height, width = document["image_size"]
        size, steps = sum(len(data) for data in files.values()), len(document["history"])
        style = " + ".join(map(str, config["style"]))
        row = dataclasses.astuple(
            RunEntry(run_id, time.time(), owner, title, size, steps, width, height, str(config["content"]), style)
        )
        try:
            with self._db() as db:
                db.execute(f"INSERT INTO runs ({_COLUMNS}) VALUES ({', '.join('?' * len(row))})", row)
        except BaseException:  # an unindexed folder would be invisible: take it back out
            self._remove(self._runs / run_id)
            raise
        return run_id

    def _remove(self, folder: Path) -> None:
        """Move a folder out of ``runs/`` at once, then delete it (a partly deleted run is never in view)."""
        doomed = self._tmp / new_id()
        try:
            os.replace(folder, doomed)
        except FileNotFoundError:
            return
        except OSError:  # a read-only folder: it cannot be moved, so delete it where it is
            shutil.rmtree(folder, ignore_errors=True)
            return
        shutil.rmtree(doomed, ignore_errors=True)

    def _uploads(self) -> dict[str, tuple[int, float]]:
        """Every stored upload: id -> (bytes, last use)."""
        found = {}
        for path in self._images.iterdir():
            try:
                stat = path.stat()
            except OSError:  # removed meanwhile
                continue
            found[path.name] = (stat.st_size, stat.st_mtime)
        return found

    def _named_uploads(self) -> set[str]:
        """The uploads a stored or pending run names (its content, styles or region masks)."""
        with self._db() as db:
            texts = [f"{content} {style}" for content, style in db.execute("SELECT content, style FROM runs")]
            texts += [config for (config,) in db.execute("SELECT config FROM pending")]
        return {match[1] for text in texts for match in UPLOAD_REFERENCE.finditer(text)}

    def _prune_uploads(self, max_bytes: int | None, max_age_s: float | None, keep: set[str], now: float) -> int:
        """Remove unnamed, unkept, unused uploads while over ``max_bytes`` or past ``max_age_s``; return the
        bytes runs and uploads take afterwards."""
        uploads, total = self._uploads(), self.usage()
        named = self._named_uploads() | keep
        unused = sorted(
            (used, image_id, size)
            for image_id, (size, used) in uploads.items()
            if image_id not in named and now - used > UPLOAD_GRACE_S
        )
        for used, image_id, size in unused:
            too_big = max_bytes is not None and total > max_bytes
            too_old = max_age_s is not None and now - used > max_age_s
            if not (too_big or too_old):
                continue
            (self._images / image_id).unlink(missing_ok=True)
            total -= size
        return int(total)

    def _own_instance(self) -> str:
        """This store's process id in ``instances/``, locked for as long as the store lives."""
        with self._instance_lock:
            if self._instance is None:
                instance = new_id()
                # Locked before it appears under instances/: a reader never sees it unlocked, so never as dead.
                temporary = self._tmp / new_id()
                try:
                    handle = open(temporary, "xb")  # noqa: SIM115 (held open: the lock lives with it)
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    os.replace(temporary, self._instances / instance)
                except OSError as error:
                    temporary.unlink(missing_ok=True)
                    raise _write_error(error, "the queue's record") from error
                self._instance, self._instance_file = instance, handle
            return self._instance

    def _alive(self, instance: str) -> bool:
        """Whether the process that recorded runs as ``instance`` still holds its lock."""
        if instance == self._instance:
            return True
        if not is_valid_id(instance):
            return False
        try:
            handle = open(self._instances / instance, "rb")  # noqa: SIM115
        except OSError:
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
        return False

    def _forget_interrupted(self, before: float) -> None:
        with self._db() as db:
            rows = db.execute("SELECT id, instance FROM pending WHERE created < ?", (before,)).fetchall()
            for job_id, instance in rows:
                if not self._alive(instance):
                    db.execute("DELETE FROM pending WHERE id = ?", (job_id,))
            live = {instance for (instance,) in db.execute("SELECT DISTINCT instance FROM pending")}
        for path in self._instances.iterdir():
            if path.name not in live and not self._alive(path.name):
                path.unlink(missing_ok=True)

    def _sweep(self) -> None:
        """Remove what abandoned writes left: temporary files and run folders that were never indexed."""
        cutoff = time.time() - STALE_S
        with self._db() as db:
            indexed = {run_id for (run_id,) in db.execute("SELECT id FROM runs")}
        for path in [*self._tmp.iterdir(), *(p for p in self._runs.iterdir() if p.name not in indexed)]:
            with suppress(OSError):  # another process removed it first
                if path.lstat().st_mtime < cutoff:
                    shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()

    def _unpack(self, source: str | os.PathLike[str] | bytes) -> dict[str, bytes]:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        else:
            path = Path(source)
            try:
                if path.stat().st_size > self.max_archive_bytes:
                    raise ArchiveError(f"This file is larger than {self.max_archive_bytes} bytes: not a run archive.")
                data = path.read_bytes()
            except OSError as error:
                raise ArchiveError(f"The archive cannot be read: {error}.") from error
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return self._members(archive)
        except ArchiveError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, ValueError) as error:
            raise ArchiveError(f"This is not a readable ZIP file ({error}).") from error

    def _members(self, archive: zipfile.ZipFile) -> dict[str, bytes]:
        """The members' bytes by name, refusing unknown names (so no path can leave the run's folder),
        links, duplicates and more than ``max_archive_bytes`` unpacked, whatever the headers claim."""
        infos = archive.infolist()
        if len(infos) > MAX_ARCHIVE_MEMBERS:
            raise ArchiveError(f"This ZIP holds {len(infos)} files: not a run archive.")
        files: dict[str, bytes] = {}
        budget = self.max_archive_bytes
        for info in infos:
            if info.is_dir():
                continue
            name = info.filename
            if not is_run_file(name):
                raise ArchiveError(f"This ZIP holds {name[:80]!r}, which is not part of a Style Lens run.")
            if name in files or (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise ArchiveError(f"This ZIP holds {name!r} twice, or as a link.")
            if info.file_size > budget:
                raise ArchiveError(f"This ZIP unpacks to more than {self.max_archive_bytes} bytes.")
            with archive.open(info) as member:
                content = member.read(budget + 1)
            if len(content) > budget:
                raise ArchiveError(f"This ZIP unpacks to more than {self.max_archive_bytes} bytes.")
            budget -= len(content)
            files[name] = content
        return files


_FULL: Final = "The server's storage is full"
_READ_ONLY: Final = "The server's storage cannot be written (its data folder is read-only)"


def _write_error(error: OSError, what: str) -> StoreUnavailableError:
    """A write the disk refused, as the sentence a visitor reads."""
    if error.errno in _FULL_ERRNOS or error.errno in _READ_ONLY_ERRNOS:
        cause = _FULL if error.errno in _FULL_ERRNOS else _READ_ONLY
        return StoreFullError(
            f"{cause}, so {what} cannot be kept. Everything else still works; whoever runs this server "
            "can free space in its data folder (STYLE_LENS_DATA)."
        )
    return StoreUnavailableError(f"The server's storage failed to keep {what} ({error.strerror or error}).")


def _touch(path: Path) -> None:
    """Mark an upload as used now (it is then kept ``UPLOAD_GRACE_S`` more); a read-only folder keeps it anyway."""
    with suppress(OSError):
        os.utime(path)


def _interrupted(row: tuple[Any, ...]) -> InterruptedRun:
    job_id, instance, created, owner, title, config, content, style = row
    return InterruptedRun(job_id, instance, created, owner, title, json.loads(config), content, style)


__all__ = ["InterruptedRun", "RunEntry", "RunStore", "StoredRun", "default_root", "is_valid_id", "new_id"]
