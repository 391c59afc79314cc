"""RunStore: a real tiny run stored and read back exactly, ids, hostile input, atomic writes, damage
isolation, listing and pruning, threads and processes sharing one root, ZIP archives in and out."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
import sqlite3
import string
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import nst_core
from nst_core import ArchiveError, NSTError, RunConfig, RunNotFoundError, RunResult, RunStore, StoredRunError
from nst_core.serve.files import run_archive
from nst_core.serve.store import STALE_S, default_root

HOSTILE_IDS = [
    "../x",
    "/etc/passwd",
    "x" * 10_000,
    "",
    None,
    42,
    "..",
    "a" * 21,
    "a" * 21 + "/",
    "a" * 22 + "\x00",
    "%2e%2e%2fxxxxxxxxxxxxxxxxxx",
]


@pytest.fixture(scope="module")
def result() -> RunResult:
    return nst_core.run(
        RunConfig(
            content="chelsea",
            style="orange_strokes",
            weights="random",
            size=32,
            steps=3,
            snapshot_every=1,
            device="cpu",
        )
    )


@pytest.fixture(scope="module")
def light(result: RunResult) -> RunResult:
    """The same run without snapshots and with one style layer: cheap to store many times."""
    return replace(result, snapshots=[], style_grams={"relu1_1": result.style_grams["relu1_1"]})


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "data")


def assert_same_run(stored: nst_core.StoredRun, result: RunResult) -> None:
    assert torch.equal(stored.image, result.image)
    assert stored.history == result.history  # floats through JSON and back: bit for bit
    assert [s.step for s in stored.snapshots] == [s.step for s in result.snapshots]
    for got, want in zip(stored.snapshots, result.snapshots, strict=True):
        assert torch.equal(got.image, want.image)
        assert got.grams.keys() == want.grams.keys()
        assert all(torch.equal(got.grams[layer], want.grams[layer]) for layer in want.grams)
    assert stored.style_grams.keys() == result.style_grams.keys()
    assert all(torch.equal(stored.style_grams[layer], g) for layer, g in result.style_grams.items())
    for name in ("weights_source", "device", "precision", "seconds", "loss_scaling"):
        assert getattr(stored, name) == getattr(result, name)
    assert stored.to_json() == result.to_json()


def test_a_real_run_comes_back_exactly(store: RunStore, result: RunResult) -> None:
    run_id = store.put(result, owner="owner-1", title="Chelsea, painted")
    stored = store.get(run_id)
    assert (stored.id, stored.owner, stored.title) == (run_id, "owner-1", "Chelsea, painted")
    assert abs(stored.created - time.time()) < 600
    assert_same_run(stored, result)
    assert stored.config.content == "chelsea" and stored.config.style == "orange_strokes"
    assert stored.config.describe() == result.config.describe()
    assert stored.config.validate() is stored.config  # examples' names: still a runnable configuration
    assert stored.image.shape == result.image.shape and stored.image.dtype == torch.float32


def test_arrays_load_on_first_access_only(store: RunStore, result: RunResult) -> None:
    stored = store.get(store.put(result))
    assert not {"image", "snapshots", "style_grams"} & vars(stored).keys()
    assert stored.snapshots is stored.snapshots  # read once, then kept
    assert "snapshots" in vars(stored) and "image" not in vars(stored)


def test_an_upload_is_named_never_embedded(store: RunStore, result: RunResult) -> None:
    pixels = result.image.clone()
    uploaded = replace(result, config=replace(result.config, content=pixels))
    folder = store.root / "runs" / store.put(uploaded)
    stored = store.get(folder.name)
    assert stored.config.content == "tensor 1x3x21x32"
    assert b"tensor 1x3x21x32" in (folder / "history.json").read_bytes()
    photo = nst_core.to_png_bytes(pixels)
    stored = store.get(store.put(replace(result, config=replace(result.config, style=[photo, "orange_strokes"]))))
    assert stored.config.style == [f"upload {nst_core.content_digest(photo)}", "orange_strokes"]


def test_ids_are_random_url_safe_and_never_repeat(store: RunStore, light: RunResult) -> None:
    ids = [store.put(light) for _ in range(4)]
    assert len(set(ids)) == len(ids)  # the same result twice: two ids
    allowed = set(string.ascii_letters + string.digits + "-_")
    for run_id in ids:
        assert len(run_id) >= 22 and set(run_id) <= allowed  # 22 base64 characters: 132 bits >= 128
    # Nothing shared between ids: no counter, no digest prefix.
    assert len({run_id[:6] for run_id in ids}) == len(ids)


def test_uploads_are_content_addressed(store: RunStore) -> None:
    """The same bytes uploaded twice are one file, named by their SHA-256 (which a stored config names too)."""
    first, again = store.put_image(b"same bytes"), store.put_image(b"same bytes")
    assert first == again == nst_core.content_digest(b"same bytes")
    assert store.put_image(b"other bytes") != first
    assert len(list((store.root / "images").iterdir())) == 2
    assert store.get_image(first) == b"same bytes"


@pytest.mark.parametrize("hostile", HOSTILE_IDS, ids=lambda v: repr(v)[:20])
def test_hostile_ids_are_not_found_and_touch_nothing(tmp_path: Path, hostile: object) -> None:
    store = RunStore(tmp_path / "data")
    before = sorted(tmp_path.rglob("*"))
    for call in (store.get, store.delete, store.get_image, store.archive, store.entry):
        with pytest.raises(RunNotFoundError) as caught:
            call(hostile)
        assert isinstance(caught.value, NSTError) and len(str(caught.value)) < 200
    assert sorted(tmp_path.rglob("*")) == before


def test_an_unknown_well_formed_id_is_not_found(store: RunStore) -> None:
    with pytest.raises(RunNotFoundError, match="no stored run"):
        store.get("A" * 22)
    with pytest.raises(RunNotFoundError):
        store.get_image("A" * 22)


def test_stored_uploads_come_back_by_id(store: RunStore) -> None:
    data = bytes(range(256)) * 10
    image_id = store.put_image(data)
    assert RunStore(store.root).get_image(image_id) == data
    with pytest.raises(ValueError):
        store.put_image(b"")


def test_a_write_that_fails_half_way_leaves_nothing(
    store: RunStore, result: RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = Path.write_bytes
    calls = []

    def failing_write(self: Path, data: bytes) -> int:
        calls.append(self)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    with pytest.raises(nst_core.StoreFullError, match="The server's storage is full, so this run cannot be kept"):
        store.put(result)
    assert store.list() == []
    assert not any((store.root / "runs").iterdir()) and not any((store.root / "tmp").iterdir())


def test_what_a_dead_writer_left_is_ignored_then_swept(store: RunStore, light: RunResult) -> None:
    kept = store.put(light)
    # A crash while writing (a temporary folder) and one between the rename and the index (an unindexed folder).
    partial = store.root / "tmp" / "a-write-in-progress"
    partial.mkdir()
    (partial / "history.json").write_text("{")
    orphan = store.root / "runs" / ("B" * 22)
    orphan.mkdir()
    (orphan / "history.json").write_bytes((store.root / "runs" / kept / "history.json").read_bytes())
    assert [entry.id for entry in store.list()] == [kept]
    with pytest.raises(RunNotFoundError):
        store.get(orphan.name)
    RunStore(store.root)
    assert partial.exists() and orphan.exists(), "a write in progress elsewhere is left alone"
    old = time.time() - 2 * STALE_S
    for path in (partial, orphan):
        os.utime(path, (old, old))
    RunStore(store.root)
    assert not partial.exists() and not orphan.exists()
    assert_same_run(store.get(kept), light)


@pytest.mark.parametrize(
    ("damage", "attribute"),
    [
        (lambda folder: (folder / "result.npy").unlink(), "image"),
        (lambda folder: (folder / "snapshots.npz").write_bytes(b"PK\x03\x04 garbage"), "snapshots"),
        (lambda folder: (folder / "grams.npz").write_bytes(b""), "style_grams"),
        (lambda folder: (folder / "history.json").write_text('{"history": [1, 2'), None),
        (lambda folder: (folder / "history.json").unlink(), None),
    ],
)
def test_a_damaged_run_fails_alone(store: RunStore, result: RunResult, damage, attribute: str | None) -> None:
    damaged, sound = store.put(result), store.put(result)
    damage(store.root / "runs" / damaged)
    with pytest.raises(StoredRunError, match=damaged):
        getattr(store.get(damaged), attribute) if attribute else store.get(damaged)
    assert {entry.id for entry in store.list()} == {damaged, sound}
    assert_same_run(store.get(sound), result)
    store.delete(damaged)
    assert [entry.id for entry in store.list()] == [sound]


def test_a_missing_folder_is_a_typed_error(store: RunStore, light: RunResult) -> None:
    run_id = store.put(light)
    (store.root / "runs" / run_id).rename(store.root / "elsewhere")
    with pytest.raises(StoredRunError):
        store.get(run_id)
    with pytest.raises(StoredRunError):
        store.archive(run_id)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The store's clock, moved by hand: one second per call unless set."""
    now = SimpleNamespace(value=1_000_000.0)

    def tick() -> float:
        now.value += 1.0
        return now.value

    monkeypatch.setattr("nst_core.serve.store.time", SimpleNamespace(time=tick))
    return now


def test_list_is_newest_first_filtered_and_limited(store: RunStore, light: RunResult, clock: SimpleNamespace) -> None:
    ids = [store.put(light, owner=owner, title=f"run {i}") for i, owner in enumerate(["ann", "bob", "ann", None])]
    entries = store.list()
    assert [entry.id for entry in entries] == ids[::-1]
    assert [entry.id for entry in store.list(owner="ann")] == [ids[2], ids[0]]
    assert [entry.id for entry in store.list(limit=2)] == ids[:1:-1]
    assert store.list(owner="nobody") == []
    entry = entries[-1]
    assert (entry.owner, entry.title, entry.steps, entry.width, entry.height) == ("ann", "run 0", 3, 32, 21)
    assert (entry.content, entry.style) == ("chelsea", "orange_strokes")
    folder = store.root / "runs" / entry.id
    assert entry.size == sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert store.entry(entry.id) == entry


def test_prune_by_count(store: RunStore, light: RunResult, clock: SimpleNamespace) -> None:
    ids = [store.put(light) for _ in range(4)]
    assert store.prune(max_runs=10) == 0
    assert store.prune(max_runs=1) == 3
    assert [entry.id for entry in store.list()] == ids[-1:]
    assert sorted(p.name for p in (store.root / "runs").iterdir()) == ids[-1:]
    with pytest.raises(RunNotFoundError):
        store.get(ids[0])


def test_prune_by_size(store: RunStore, light: RunResult, clock: SimpleNamespace) -> None:
    ids = [store.put(light) for _ in range(3)]
    size = store.list()[0].size
    assert store.prune(max_bytes=2 * size + size // 2) == 1
    assert [entry.id for entry in store.list()] == ids[:0:-1]
    assert store.prune(max_bytes=0) == 2 and store.list() == []


def test_prune_by_age(store: RunStore, light: RunResult, clock: SimpleNamespace) -> None:
    old = [store.put(light) for _ in range(2)]
    clock.value += 1000
    recent = store.put(light)
    assert store.prune(max_age_s=500) == 2
    assert [entry.id for entry in store.list()] == [recent]
    assert not any((store.root / "runs" / run_id).exists() for run_id in old)


def test_a_new_store_on_the_same_root_sees_everything(tmp_path: Path, result: RunResult) -> None:
    first = RunStore(tmp_path)
    run_id, image_id = first.put(result, owner="ann"), first.put_image(b"photo")
    again = RunStore(tmp_path)
    assert [entry.id for entry in again.list(owner="ann")] == [run_id]
    assert_same_run(again.get(run_id), result)
    assert again.get_image(image_id) == b"photo"
    assert sqlite3.connect(tmp_path / "index.sqlite3").execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_threads_share_one_store(store: RunStore, light: RunResult) -> None:
    def work(i: int) -> str:
        run_id = store.put(light, owner=f"t{i % 2}")
        assert store.get(run_id).history == light.history
        store.list()
        return run_id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(work, range(16)))
    assert len(set(ids)) == 16
    assert {entry.id for entry in store.list(limit=None)} == set(ids)
    assert len(store.list(owner="t0", limit=None)) == 8


# Run by fresh interpreters (not multiprocessing: a page test's AppTest leaves the app script as __main__,
# which a spawned child would re-run). It prints the ids it imported, then the UI libraries it pulled in.
_IMPORTER = """
import json, os, sys
from nst_core import RunStore
store = RunStore(sys.argv[1])
archive = open(sys.argv[2], "rb").read()
ids = [store.import_archive(archive, owner=f"pid{os.getpid()}") for _ in range(int(sys.argv[3]))]
ui = sorted(name for name in sys.modules if name.split(".")[0] in ("plotly", "streamlit"))
print(json.dumps([ids, ui]))
"""


def test_processes_share_one_root(tmp_path: Path, light: RunResult) -> None:
    archive = tmp_path / "run.zip"
    archive.write_bytes(run_archive(light))
    root = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(nst_core.__file__).parents[1]), *sys.path])}
    command = [sys.executable, "-c", _IMPORTER, str(root), str(archive), "3"]
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    batches = [json.loads(worker.communicate(timeout=300)[0]) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    assert [ui for _, ui in batches] == [[], []], "a fresh process imports nst_core without Plotly or Streamlit"
    ids = [run_id for batch, _ in batches for run_id in batch]
    store = RunStore(root)
    assert {entry.id for entry in store.list(limit=None)} == set(ids) and len(ids) == 6
    assert len({entry.owner for entry in store.list()}) == 2
    assert all(store.get(run_id).history == light.history for run_id in ids)


def test_a_new_store_tries_the_wal_switch_again_while_another_process_holds_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite answers the journal-mode switch with "database is locked" at once (no busy wait) when another
    # process opening the same new store holds the lock; the first two attempts here get that answer.
    refusals = iter([True, True])
    connect = sqlite3.connect

    class Refusing(sqlite3.Connection):
        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:  # type: ignore[override]
            if sql.startswith("PRAGMA journal_mode") and next(refusals, False):
                raise sqlite3.OperationalError("database is locked")
            return super().execute(sql, *args)

    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: connect(*a, **k, factory=Refusing))
    store = RunStore(tmp_path / "store")
    assert next(refusals, None) is None, "both refusals were met and tried again"
    assert store.list() == []
    with sqlite3.connect(store.root / "index.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_store_that_stays_unreadable_is_not_tried_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = []

    def failing(*args: object, **kwargs: object) -> sqlite3.Connection:
        attempts.append(args)
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite3, "connect", failing)
    with pytest.raises(nst_core.StoreUnavailableError):
        RunStore(tmp_path / "store")
    assert len(attempts) == 1


def test_the_download_imports_back_and_is_the_stored_folder(store: RunStore, result: RunResult, tmp_path: Path) -> None:
    archive = run_archive(result)
    path = tmp_path / "run.zip"
    path.write_bytes(archive)
    run_id = store.import_archive(path, owner="laptop", title="from the GPU host")
    stored = store.get(run_id)
    assert_same_run(stored, result)
    assert (stored.owner, stored.title) == ("laptop", "from the GPU host")
    assert store.archive(run_id) == archive  # the store and the download hold the same files
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        names = set(opened.namelist())
    assert names == {
        p.relative_to(store.root / "runs" / run_id).as_posix()
        for p in (store.root / "runs" / run_id).rglob("*")
        if p.is_file()
    }
    assert run_archive(stored) == archive
    assert_same_run(store.get(store.import_archive(archive)), result)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def members(light: RunResult) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(run_archive(light))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: {**m, "../evil.txt": b"x"}, "not part of"),
        (lambda m: {**m, "/etc/cron.d/evil": b"x"}, "not part of"),
        (lambda m: {**m, "snapshots/../../evil.png": b"x"}, "not part of"),
        (lambda m: {k: v for k, v in m.items() if k != "history.json"}, "no history.json"),
        (lambda m: {**m, "result.npy": b"\x93NUMPY garbage"}, "damaged"),
        (lambda m: {**m, "history.json": b"[]"}, "damaged"),
    ],
)
def test_hostile_or_broken_archives_are_refused(
    store: RunStore, members: dict[str, bytes], change, message: str
) -> None:
    with pytest.raises(ArchiveError, match=message):
        store.import_archive(_zip(change(members)))
    assert store.list() == [] and not any((store.root / "runs").iterdir())
    assert not (store.root.parent / "evil.txt").exists()


def test_pickled_arrays_are_refused(store: RunStore, members: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(ArchiveError, match="damaged"):
        store.import_archive(_zip({**members, "result.npy": buffer.getvalue()}))


def test_not_a_zip_and_zip_bombs_are_refused(tmp_path: Path, members: dict[str, bytes]) -> None:
    store = RunStore(tmp_path / "data", max_archive_bytes=sum(map(len, members.values())) + 1000)
    for junk in (b"", b"not a zip at all", b"PK\x05\x06" + bytes(18)):
        with pytest.raises(ArchiveError):
            store.import_archive(junk)
    with pytest.raises(ArchiveError):
        store.import_archive(tmp_path / "missing.zip")
    bomb = _zip({**members, "README.txt": bytes(50_000_000)})  # 50 MB of zeros deflate to ~50 kB
    assert len(bomb) < 1_000_000
    with pytest.raises(ArchiveError, match="unpacks to more"):
        store.import_archive(bomb)
    # A header that understates the size gets no further (zipfile stops there and the CRC check fails).
    lying = bytearray(bomb)
    for match in re.finditer(rb"README\.txt", bytes(lying)):
        header = (
            match.start() - 30
            if lying[match.start() - 30 : match.start() - 26] == b"PK\x03\x04"
            else match.start() - 46
        )
        size_at = header + (22 if lying[header : header + 4] == b"PK\x03\x04" else 24)
        lying[size_at : size_at + 4] = (100).to_bytes(4, "little")
    with pytest.raises(ArchiveError):
        store.import_archive(bytes(lying))
    assert store.list() == []


def test_default_root_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STYLE_LENS_DATA", str(tmp_path / "lens"))
    assert default_root() == tmp_path / "lens"
    monkeypatch.delenv("STYLE_LENS_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_root() == tmp_path / "xdg" / "style-lens"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_root() == Path.home() / ".local" / "share" / "style-lens"


def test_a_vanished_data_folder_is_a_typed_error_not_a_crash(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "data")
    shutil.rmtree(tmp_path / "data")  # the folder removed (or unmounted) under a running server
    with pytest.raises(nst_core.StoreUnavailableError, match="STYLE_LENS_DATA") as caught:
        store.list()
    assert isinstance(caught.value, NSTError)


def test_uploads_count_in_the_limit_and_only_unused_ones_are_pruned(store: RunStore, light: RunResult) -> None:
    """Prune removes, oldest first, the uploads no stored or pending run names, no live session holds and
    nobody used for an hour, while runs and uploads together are over the limit; then runs as before."""
    old = time.time() - 2 * 3600

    def upload(data: bytes, used: float = old) -> str:
        image_id = store.put_image(data)
        os.utime(store.root / "images" / image_id, (used, used))
        return image_id

    named = upload(b"N" * 1000)
    run_id = store.put(replace(light, config=replace(light.config, content=f"upload {named}")))
    pending = upload(b"P" * 1000)
    store.record_pending(
        "p" * 32,
        replace(light.config, regions=[b"x"]),
        owner="ann",
        title=None,
        content=f"upload {pending}",
        style="mosaic",
    )
    held = upload(b"H" * 1000)
    fresh = upload(b"F" * 1000, used=time.time())
    oldest, newer = upload(b"O" * 1000, used=old - 10), upload(b"W" * 1000)
    images = store.root / "images"
    assert store.usage() == store.entry(run_id).size + sum(p.stat().st_size for p in images.iterdir())

    # Under the limit: nothing goes.
    assert store.prune(max_bytes=store.usage(), keep_images={held}) == 0
    assert len(list(images.iterdir())) == 7  # six uploads and the pending run's region mask ("x")
    # 1500 bytes over: the two unused uploads go, oldest first, and that is enough; no run is deleted.
    assert store.prune(max_bytes=store.usage() - 1500, keep_images={held}) == 0
    assert not (images / oldest).exists() and not (images / newer).exists()
    assert all((images / kept).exists() for kept in (named, pending, held, fresh))
    # Far over: the run goes too, and then the upload only it named (held, fresh and pending stay).
    assert store.prune(max_bytes=0, keep_images={held}) == 1
    assert sorted(p.name for p in images.iterdir()) == sorted([pending, held, fresh, nst_core.content_digest(b"x")])
    store.get_image(pending)


def test_a_history_written_before_the_renames_reads_with_the_new_names(
    store: RunStore, members: dict[str, bytes], light: RunResult
) -> None:
    """``validation.RENAMED_KEYS``: ``loss_scaling.style`` was written as ``loss_scaling.style_layers``."""
    history = json.loads(members["history.json"])
    history["loss_scaling"]["style_layers"] = history["loss_scaling"].pop("style")
    stored = store.get(store.import_archive(_zip({**members, "history.json": json.dumps(history).encode()})))
    assert stored.loss_scaling == light.loss_scaling
    assert json.loads(stored.to_json())["loss_scaling"]["style"] == history["loss_scaling"]["style_layers"]


def test_the_run_stored_before_one_truth_reads_its_former_keys(tmp_path: Path) -> None:
    archive = Path(__file__).parents[2] / "data" / "run-before-one-truth.zip"
    with zipfile.ZipFile(archive) as files:
        written = json.loads(files.read("history.json"))["loss_scaling"]
    assert "style_layers" in written and "style" not in written  # as an earlier version wrote it
    store = RunStore(tmp_path / "data")
    stored = store.get(store.import_archive(archive))
    assert stored.loss_scaling.style == written["style_layers"] and stored.loss_scaling.content == written["content"]
