"""The command line end to end at a tiny size, and its one-line errors for user mistakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nst_core.cli import main
from nst_core.gram import gram_matrix
from nst_core.optim.config import flag_of, settings
from nst_core.optim.sources import load_input

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--size", "32", "--steps", "3", "--weights", "random", "--device", "cpu"]


@pytest.fixture
def content(tmp_path: Path) -> Path:
    path = tmp_path / "content.png"
    pixels = (np.random.default_rng(0).random((30, 40, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, "-m", "nst_core", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_stylize_end_to_end_in_a_subprocess(tmp_path, content) -> None:
    done = _cli("stylize", str(content), "orange_strokes", "-o", "out.png", *TINY, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "out.png").size == (32, 24)
    history = json.loads((tmp_path / "out.json").read_text())
    assert [record["step"] for record in history["history"]] == [1, 2, 3]
    assert set(history["history"][0]) >= {"J", "J_content", "J_style", "J_style_layers", "elapsed_s"}
    assert "3/3" in done.stderr and "wrote out.png" in done.stdout


def test_a_user_mistake_in_a_subprocess_is_one_line_and_no_traceback(tmp_path) -> None:
    done = _cli("stylize", "missing.png", "orange_strokes", "-o", "out.png", *TINY, cwd=tmp_path)
    assert done.returncode == 2  # a user mistake, as the README says
    assert done.stderr.startswith("error: CONTENT:") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr and not (tmp_path / "out.png").exists()


def test_stylize_in_process_with_two_styles_adam_and_a_history_path(tmp_path, content, capsys) -> None:
    history = tmp_path / "runs" / "h.json"
    history.parent.mkdir()
    status = main([
        "stylize", "chelsea", str(content), "orange_strokes", "--style-blend", "2", "1", "-o", str(tmp_path / "x.jpg"),
        "--history", str(history), "--optimizer", "adam", "--lr", "0.05", "--alpha", "2", "--beta", "5",
        "--init", "noise", "--seed", "3", "--style-layers", "relu1_1=0.7,relu2_1=0.3", "--content-layer", "relu2_2",
        "--quiet", *TINY,
    ])  # fmt: skip
    assert status == 0
    document = json.loads(history.read_text())
    config = document["config"]
    assert (config["optimizer"], config["lr"], config["alpha"], config["beta"], config["seed"]) == (
        "adam",
        0.05,
        2.0,
        5.0,
        3,
    )
    assert config["style"] == [str(content), "orange_strokes"] and config["style_blend"] == [2.0, 1.0]
    assert config["style_layers"] == {"relu1_1": 0.7, "relu2_1": 0.3}
    assert set(document["history"][-1]["J_style_layers"]) == {"relu1_1", "relu2_1"}
    assert Image.open(tmp_path / "x.jpg").size == (32, 21)
    assert capsys.readouterr().err == ""  # --quiet: no bar


@pytest.mark.parametrize("suffix", [".npy", ".png"])
def test_gram_writes_the_matrix_or_its_picture(tmp_path, random_extractor, suffix) -> None:
    out = tmp_path / f"gram{suffix}"
    assert main(["gram", "chelsea", "--layer", "relu1_1", "-o", str(out), "--size", "32", "--weights", "random"]) == 0
    if suffix == ".npy":
        matrix = np.load(out)
        assert matrix.shape == (64, 64) and matrix.dtype == np.float32
        with torch.no_grad():
            a = random_extractor(load_input("content", "chelsea", 32), ["relu1_1"])["relu1_1"][0]
        np.testing.assert_allclose(matrix, gram_matrix(a).numpy(), rtol=1e-4, atol=1e-4)
    else:
        picture = Image.open(out)
        assert picture.mode == "RGB" and picture.size == (512, 512)


@pytest.mark.parametrize(
    "args, status, expected",
    [
        (["stylize", "nope.png", "orange_strokes", "-o", "o.png", *TINY], 2, "error: CONTENT: no image file"),
        (["stylize", "chelsea", "broken.png", "-o", "o.png", *TINY], 2, "error: STYLE: "),
        (["stylize", "chelsea", "rings", "-o", "o.png", *TINY, "--size", "0"], 2, "error: --size: "),
        (["stylize", "chelsea", "rings", "-o", "o.png", *TINY, "--alpha", "nan"], 2, "error: --alpha: "),
        (["stylize", "chelsea", "rings", "-o", "o.png", *TINY, "--lr", "-1"], 2, "error: --lr: "),
        (
            ["stylize", "chelsea", "rings", "-o", "o.png", *TINY, "--style-layers", "relu9_1"],
            2,
            "error: --style-layers: unknown",
        ),
        (
            ["stylize", "chelsea", "rings", "-o", "o.png", *TINY, "--style-layers", "relu1_1=1,relu2_1"],
            2,
            "error: --style-layers",
        ),
        (["stylize", "chelsea", "rings", "-o", "o.png", *TINY, "--device", "tpu"], 2, "error: --device: "),
        (["stylize", "chelsea", "rings", "-o", "o.txt", *TINY], 2, "error: --output: "),
        (["stylize", "chelsea", "rings", "-o", "no/such/dir/o.png", *TINY], 2, "error: --output: the folder"),
        (["stylize", "chelsea", "rings", "-o", "o.png", *TINY, "--steps", "many"], 2, "error: argument --steps"),
        (
            ["stylize", "chelsea", "rings", "-o", "o.png", "--size", "32", "--steps", "1", "--weights", "imagenet"],
            2,
            "--weights random",
        ),
        (["gram", "chelsea", "--layer", "relu9_9", "-o", "g.npy", "--weights", "random"], 2, "error: --layer: unknown"),
        (["gram", "nope.png", "-o", "g.npy", "--weights", "random"], 2, "error: IMAGE: "),
        (["gram", "chelsea", "-o", "g.csv", "--weights", "random"], 2, "error: --output: "),
        (["frobnicate"], 2, "error: argument command"),
    ],
)
def test_user_mistakes_give_one_line_errors(tmp_path, monkeypatch, capsys, args, status, expected) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == status
    assert expected in err and err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and not (tmp_path / "o.png").exists()


def test_a_run_that_fails_on_its_own_exits_1(tmp_path, monkeypatch, capsys) -> None:
    """Not a user mistake: the run itself failed (here its loss became NaN), so 1, not 2."""
    from nst_core import NonFiniteLossError

    def diverge(*args, **kwargs):
        raise NonFiniteLossError("The loss became NaN at step 3.", "Lower the learning rate.")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("nst_core.cli.run", diverge)
    assert main(["stylize", "chelsea", "rings", "-o", "o.png", *TINY]) == 1
    err = capsys.readouterr().err
    assert err == "error: The loss became NaN at step 3. Lower the learning rate.\n"


def test_every_setting_with_a_flag_is_an_argument_of_stylize_with_its_help(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["stylize", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name, declared in settings().items():
        flag = flag_of(name)
        if flag is not None:
            assert flag in text and " ".join(declared.help.split()) in text, name
