"""The hostile corpus: every damaged run (as a ZIP to import, and as a stored folder to open)
is refused with the store's typed error and a sentence, and leaves no orphan in the data folder; every run
this project writes imports."""

from __future__ import annotations

import errno
import io
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Final

import numpy as np
import pytest

import nst_core
from nst_core import ArchiveError, RunConfig, RunResult, RunStore, StoredRunError, StoreFullError
from nst_core.serve.files import run_archive, run_files, zip_files
from tests.helpers import small_config

Files = dict[str, bytes]


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def history(files: Files) -> dict:
    return json.loads(files["history.json"])


def with_history(change: Callable[[dict], object]) -> Callable[[Files], Files]:
    def poison(files: Files) -> Files:
        document = history(files)
        change(document)
        return {**files, "history.json": json.dumps(document).encode()}

    return poison


def with_file(name: str, make: Callable[[Files], bytes]) -> Callable[[Files], Files]:
    return lambda files: {**files, name: make(files)}


def grams_with(**extra: np.ndarray) -> Callable[[Files], bytes]:
    """grams.npz with ``extra`` arrays added or replaced ("G_S__relu1_1" names "G_S/relu1_1")."""

    def make(files: Files) -> bytes:
        with np.load(io.BytesIO(files["grams.npz"])) as arrays:
            kept = {name: arrays[name] for name in arrays.files}
        kept.update({name.replace("__", "/"): value for name, value in extra.items()})
        return npz(**kept)

    return make


def pixels(files: Files) -> np.ndarray:
    return np.load(io.BytesIO(files["result.npy"]))


def huge_header(files: Files) -> bytes:
    """A .npy whose header claims (1, 3, 4096, 4096) float32 (200 MB) but holds 16 bytes."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": (1, 3, 4096, 4096)})
    return buffer.getvalue() + b"\0" * 16


def pickled(files: Files) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{}], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def nan_pixels(files: Files) -> bytes:
    array = pixels(files).copy()
    array[0, 0, 0, 0] = np.nan
    return npy(array)


def poison_literal(literal: str) -> Callable[[Files], Files]:
    def poison(files: Files) -> Files:
        text = files["history.json"].decode()
        return {**files, "history.json": text.replace('"seconds": ', f'"seconds": {literal}, "x": ', 1).encode()}

    return poison


# Each case: (what is poisoned, how, a phrase the error's sentence must hold).
CORPUS: list[tuple[str, Callable[[Files], Files], str]] = [
    ("J_style is text", with_history(lambda d: d["history"][0].update(J_style="x")), "J_style"),
    ("empty history", with_history(lambda d: d.update(history=[])), "history"),
    ("image_size is text", with_history(lambda d: d.update(image_size="ab")), "image_size"),
    ("image_size missing", with_history(lambda d: d.pop("image_size")), "image_size"),
    ("image_size of three", with_history(lambda d: d.update(image_size=[1, 2, 3])), "image_size"),
    ("image_size differs", with_history(lambda d: d.update(image_size=[20, 20])), "result.npy"),
    ("history not JSON", lambda f: {**f, "history.json": b"{not json"}, "not JSON"),
    ("history a list", lambda f: {**f, "history.json": b"[]"}, "history.json"),
    ("NaN in history", poison_literal("NaN"), "not a finite number"),
    ("1e999 in history", poison_literal("1e999"), "not finite"),
    ("config size -5", with_history(lambda d: d["config"].update(size=-5)), "size"),
    ("config size text", with_history(lambda d: d["config"].update(size="big")), "size"),
    ("config steps 0", with_history(lambda d: d["config"].update(steps=0)), "steps"),
    ("config optimizer", with_history(lambda d: d["config"].update(optimizer="sgd")), "optimizer"),
    ("config layer relu9_9", with_history(lambda d: d["config"].update(style_layers={"relu9_9": 1.0})), "relu9_9"),
    ("config missing", with_history(lambda d: d.pop("config")), "config"),
    ("cost of relu9_9", with_history(lambda d: d["history"][0]["J_style_layers"].update(relu9_9=1.0)), "relu9_9"),
    ("negative seconds", with_history(lambda d: d.update(seconds=-1)), "seconds"),
    ("snapshot step text", with_history(lambda d: d.update(snapshot_steps=["a"])), "snapshot_steps"),
    ("G_S of (3, 7)", with_file("grams.npz", grams_with(G_S__relu1_1=np.zeros((3, 7), np.float32))), "(64, 64)"),
    ("G_G of (5, 5)", with_file("grams.npz", grams_with(G_G__relu1_1=np.zeros((5, 5), np.float32))), "(64, 64)"),
    ("G_S of relu9_9", with_file("grams.npz", grams_with(G_S__relu9_9=np.zeros((4, 4), np.float32))), "relu9_9"),
    ("G_S float64", with_file("grams.npz", grams_with(G_S__relu1_1=np.zeros((64, 64)))), "float32"),
    ("G_S with inf", with_file("grams.npz", grams_with(G_S__relu1_1=np.full((64, 64), np.inf, np.float32))), "finite"),
    ("grams not npz", with_file("grams.npz", lambda f: b"PK nothing"), "grams.npz"),
    ("NaN pixels", with_file("result.npy", nan_pixels), "not finite"),
    ("complex pixels", with_file("result.npy", lambda f: npy(pixels(f).astype(np.complex64))), "complex64"),
    ("float64 pixels", with_file("result.npy", lambda f: npy(pixels(f).astype(np.float64))), "float32"),
    ("pixels above 1", with_file("result.npy", lambda f: npy(pixels(f) + 2)), "outside [0, 1]"),
    ("pixels of (3, 7)", with_file("result.npy", lambda f: npy(np.zeros((3, 7), np.float32))), "(1, 3, H, W)"),
    ("pixels truncated", with_file("result.npy", lambda f: f["result.npy"][:-10]), "truncated"),
    ("pixels claim 200 MB", with_file("result.npy", huge_header), "truncated"),
    ("pixels as pickle", with_file("result.npy", pickled), "float32"),
    ("png not a png", with_file("result.png", lambda f: b"GIF89a"), "result.png"),
    ("png of another size", with_file("result.png", lambda f: _png(7, 5)), "7x5"),
    ("snapshot image missing", with_file("snapshots.npz", lambda f: npz()), "no image for step"),
    ("snapshot of an unlisted step", with_history(lambda d: d.update(snapshot_steps=[0])), "does not list"),
    (
        "snapshot gram of (2, 2)",
        with_file("snapshots.npz", lambda f: _snapshots_with(f, "G_G/1/relu1_1", np.zeros((2, 2), np.float32))),
        "(64, 64)",
    ),
    ("snapshot png of no step", lambda f: {**f, "snapshots/step_000999.png": _png(4, 4)}, "step_000999"),
]


# A stored run's snapshot PNGs are never read by a page (its downloads are made from the arrays again):
# only an import checks them.
STORED_CORPUS: Final = [case for case in CORPUS if case[0] != "snapshot png of no step"]


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def _snapshots_with(files: Files, key: str, value: np.ndarray) -> bytes:
    with np.load(io.BytesIO(files["snapshots.npz"])) as arrays:
        kept = {name: arrays[name] for name in arrays.files}
    kept[key] = value
    buffer = io.BytesIO()
    np.savez(buffer, **kept)  # type: ignore[arg-type]
    return buffer.getvalue()


@pytest.fixture(scope="module")
def result() -> RunResult:
    return nst_core.run(small_config(steps=3, snapshot_every=1))


@pytest.fixture(scope="module")
def files(result: RunResult) -> Files:
    return run_files(result)


def assert_no_orphan(store: RunStore) -> None:
    """Nothing of a refused run anywhere: no folder, no temporary file, no index row."""
    assert store.list() == []
    for folder in ("runs", "tmp"):
        assert not any((store.root / folder).iterdir()), folder


def test_the_untouched_files_import(tmp_path: Path, files: Files) -> None:
    """The corpus poisons a valid run: the run itself must pass every check."""
    store = RunStore(tmp_path / "data")
    run_id = store.import_archive(zip_files(files))
    assert store.get(run_id).load().image.shape[-2:] == tuple(history(files)["image_size"])


@pytest.mark.parametrize(("case", "poison", "phrase"), CORPUS, ids=[case for case, _, _ in CORPUS])
def test_a_poisoned_archive_is_refused_and_leaves_nothing(
    tmp_path: Path, files: Files, case: str, poison: Callable[[Files], Files], phrase: str
) -> None:
    store = RunStore(tmp_path / "data")
    with pytest.raises(ArchiveError) as caught:
        store.import_archive(zip_files(poison(dict(files))))
    message = str(caught.value)
    assert message.startswith("This ZIP's run data is damaged:") and phrase in message, message
    assert "\n" not in message and len(message) < 400
    assert_no_orphan(store)


@pytest.mark.parametrize(("case", "poison", "phrase"), STORED_CORPUS, ids=[case for case, _, _ in STORED_CORPUS])
def test_a_poisoned_stored_run_opens_to_a_sentence_naming_it(
    tmp_path: Path, result: RunResult, files: Files, case: str, poison: Callable[[Files], Files], phrase: str
) -> None:
    """A folder damaged on disk (or written by an older version): ``load`` says which run, in one sentence."""
    store = RunStore(tmp_path / "data")
    run_id = store.put(result)
    folder = store.root / "runs" / run_id
    for name, data in poison(dict(files)).items():
        (folder / name).write_bytes(data)
    with pytest.raises(StoredRunError) as caught:
        store.get(run_id).load()
    assert str(caught.value).startswith(f"Stored run {run_id} is damaged"), caught.value
    # The other runs and the index are untouched; the damaged one can still be deleted.
    other = store.put(result)
    store.get(other).load()
    store.delete(run_id)
    assert [entry.id for entry in store.list()] == [other]


def test_every_download_of_this_project_imports(tmp_path: Path) -> None:
    """Runs with every option that changes the files (coarse to fine, two blended styles, region masks,
    mean_cov, TV, no snapshots, snapshot layers of their own) import, and import again from their store's ZIP."""
    mask = _png(32, 32)
    configs = [
        RunConfig(
            content="chelsea",
            style=["orange_strokes", "mosaic"],
            style_blend=[2, 1],
            size=40,
            steps=4,
            start_size=24,
            tv_weight=0.1,
            style_loss="mean_cov",
            snapshot_every=2,
            snapshot_layers=["relu2_1"],
        ),
        RunConfig(content="astronaut", style="blue_waves", size=24, steps=2, snapshot_every=0, optimizer="adam"),
        RunConfig(
            content="coffee",
            style=["rings", "mosaic"],
            regions=[mask, mask],
            size=24,
            steps=2,
            style_loss="sliced_wasserstein",
            preserve_colors="luminance",
        ),
    ]
    store = RunStore(tmp_path / "data")
    for config in configs:
        result = nst_core.run(replace(config, weights="random", device="cpu"))
        first = store.import_archive(run_archive(result))
        again = store.import_archive(store.archive(first))
        for run_id in (first, again):
            stored = store.get(run_id).load()
            assert stored.history == result.history
            assert stored.to_json() == result.to_json()


def test_an_archive_named_by_path_that_fails_leaves_nothing(tmp_path: Path, files: Files) -> None:
    store = RunStore(tmp_path / "data")
    path = tmp_path / "bad.zip"
    path.write_bytes(zip_files(with_history(lambda d: d.update(image_size="ab"))(dict(files))))
    with pytest.raises(ArchiveError, match="image_size"):
        store.import_archive(path)
    assert_no_orphan(store)


# ---------------------------------------------------------------- a full or read-only data folder

_FULL_DISK = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    import nst_core
    from nst_core import RunStore, StoreFullError
    from nst_core.serve.files import run_archive

    store = RunStore(sys.argv[1])
    archive = Path(sys.argv[2]).read_bytes()
    # As `ulimit -f 64`: no file past 64 KiB (Python ignores SIGXFSZ, so the write fails with EFBIG).
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
    for what, call in (("upload", lambda: store.put_image(b"x" * 200_000)),
                       ("run", lambda: store.import_archive(archive))):
        try:
            call()
        except StoreFullError as error:
            print(what, error)
        else:
            print(what, "stored")
    """
)


def test_a_full_disk_gives_a_sentence_and_leaves_nothing(tmp_path: Path, files: Files) -> None:
    root = tmp_path / "data"
    RunStore(root)
    archive = tmp_path / "run.zip"
    archive.write_bytes(zip_files(files))
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(root), str(archive)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("upload The server's storage is full, so this image cannot be kept."), lines
    assert lines[1].startswith("run The server's storage is full, so this run cannot be kept."), lines
    store = RunStore(root)
    assert_no_orphan(store)
    assert not any((root / "images").iterdir())


def test_a_read_only_data_folder_gives_a_sentence_and_leaves_nothing(
    tmp_path: Path, result: RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder mounted read-only (root ignores permission bits, so the refusal is simulated at os.replace)."""
    store = RunStore(tmp_path / "data")

    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("nst_core.serve.store.os.replace", read_only)
    for call, what in ((lambda: store.put_image(b"an image"), "image"), (lambda: store.put(result), "run")):
        with pytest.raises(StoreFullError, match=f"read-only.*so this {what} cannot be kept"):
            call()
    monkeypatch.undo()
    assert_no_orphan(store)
    assert not any((store.root / "images").iterdir())
