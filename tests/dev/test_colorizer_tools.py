"""The maintainer's colorizer tools (scripts/dev/make_colorizer.py, judge_colorizer.py)."""

import json

import numpy as np
import pytest
from conftest import import_script
from PIL import Image

from autoenc.inference.checkpoints import load_checkpoint


def test_judge_colorizer_scores_unseen_photos_and_draws_strips(tmp_path, capsys):
    judge_colorizer = import_script("judge_colorizer")

    assert judge_colorizer.main(["names=astronaut,rocket", f"out={tmp_path}"]) == 0
    printed = capsys.readouterr().out.splitlines()
    rows = [line.split("|")[1:-1] for line in printed if line.startswith("| a") or line.startswith("| r")]
    assert [r[0].strip() for r in rows] == ["astronaut", "rocket"]
    for row in rows:
        mse, gray_mse, ratio, error, distance, gray_distance = (float(v) for v in row[2:])
        assert mse < gray_mse and 0 < ratio < 1.5 and 0 <= distance < gray_distance <= 1  # better than gray
        assert error == pytest.approx(abs(ratio - 1), abs=0.006)  # |CF_pred - CF_truth| / CF_truth
    median = next(line for line in printed if line.startswith("| median of 2"))
    errors = sorted(float(r[5]) for r in rows)
    assert float(median.split("|")[6].split()[0]) == pytest.approx(sum(errors) / 2, abs=0.006)
    with Image.open(tmp_path / "colorize_astronaut.png") as strip:
        assert strip.size == (3 * 512, 512)  # gray | colorized | truth
    assert judge_colorizer.main(["names=astronaut", "saturation=2"]) == 0
    vivid = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| astronaut"))
    assert float(vivid.split("|")[5]) > 1.5 * float(rows[0][4])  # colourfulness / truth, at twice the chroma


def test_judge_colorizer_keeps_its_photo_and_test_split_scores_in_a_record(tmp_path, capsys):
    judge_colorizer = import_script("judge_colorizer")
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    for i in range(6):
        ramp = np.linspace(0, 255, 64)[None, :, None] * np.array([1, 0.5, 0.2 + 0.1 * i])
        Image.fromarray(np.broadcast_to(ramp, (64, 64, 3)).astype(np.uint8)).save(pictures / f"{i}.png")
    record = tmp_path / "colorizers.json"
    common = ["names=astronaut,rocket", f"split_root={pictures}", f"record={record}"]
    assert judge_colorizer.main([*common, "name=shipped"]) == 0
    assert judge_colorizer.main([*common, "name=vivid", "saturation=2"]) == 0
    kept = json.loads(record.read_text())
    assert set(kept) == {"shipped", "vivid"}  # the second run added its entry, the first kept
    shipped, vivid = kept["shipped"], kept["vivid"]
    assert [p["photo"] for p in shipped["photos"]] == ["astronaut", "rocket"] and "cores" in shipped["host"]
    errors = [p["colourfulness_error"] for p in shipped["photos"]]
    assert shipped["photos_median_colourfulness_error"] == pytest.approx(sum(errors) / 2)
    split = shipped["test_split"]
    assert split["images"] > 0 and split["params"] == 70_466 and 0 < split["test_colourfulness_ratio"] < 2
    assert 0 <= split["test_colour_distance"] <= 1 and split["test_mse_rgb"] > 0
    assert vivid["test_split"]["test_colourfulness_ratio"] > split["test_colourfulness_ratio"]  # twice the chroma
    assert "test split: test_mse_rgb" in capsys.readouterr().out


def test_make_colorizer_trains_and_chooses_the_vivid_gain_on_the_validation_split(tmp_path, capsys):
    make_colorizer = import_script("make_colorizer")

    rng = np.random.default_rng(0)
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    for i in range(6):  # smooth colour gradients: something a colorizer can learn in a few steps
        ramp = np.linspace(0, 255, 64)[None, :, None] * rng.uniform(0.3, 1, 3)
        Image.fromarray(np.broadcast_to(ramp, (64, 64, 3)).astype(np.uint8)).save(pictures / f"{i}.png")
    plain, vivid, trained_vivid = tmp_path / "plain.ckpt", tmp_path / "vivid.ckpt", tmp_path / "vivid2.ckpt"
    quick = ["trainer.max_epochs=1", "trainer.accelerator=cpu", "trainer.enable_model_summary=false"]
    assert make_colorizer.main([f"root={pictures}", f"run={tmp_path / 'run'}", f"out={plain}", *quick]) == 0
    model, _ = load_checkpoint(plain)
    assert model.task.name == "y2uv" and list(model.hparams.widths) == [32, 48, 64]
    assert (tmp_path / "run" / "metrics.json").is_file()
    capsys.readouterr()
    assert make_colorizer.main(["vivid=true", f"ckpt={plain}", f"root={pictures}", f"out={vivid}"]) == 0
    rows = [line.split("|")[1:-1] for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    curve = [tuple(float(v) for v in row) for row in rows[1:]]  # gain, val RGB MSE, gray picture's
    assert [gain for gain, _, _ in curve] == make_colorizer.GAINS and len({mse for _, mse, _ in curve}) > 1
    chosen = load_checkpoint(vivid)[0].task.options["saturation"]
    assert chosen in make_colorizer.GAINS and (
        chosen == 1.0 or curve[make_colorizer.GAINS.index(chosen)][1] <= curve[0][2]
    )
    # trained and given its gain in one command; an earlier run in the folder is set aside, not lost
    assert (
        make_colorizer.main(
            ["vivid=true", f"root={pictures}", f"run={tmp_path / 'run'}", f"out={trained_vivid}", *quick]
        )
        == 0
    )
    assert "saturation" in load_checkpoint(trained_vivid)[0].task.options
    assert len(list((tmp_path / "run").glob("replaced_*/checkpoints/best.ckpt"))) == 1


def test_make_colorizer_takes_the_largest_gain_under_the_gray_picture_and_refuses_what_it_cannot_do(capsys):
    make_colorizer = import_script("make_colorizer")

    assert make_colorizer.choose_gain([(1.0, 0.1, 0.2), (1.1, 0.15, 0.2), (1.2, 0.3, 0.2)]) == 1.1
    assert make_colorizer.choose_gain([(1.0, 0.3, 0.2), (1.1, 0.4, 0.2)]) == 1.0  # none under gray: as predicted
    for argv, words in (
        (["ckpt=x.ckpt"], "ckpt=... is for vivid=true"),
        (["vivid=true", "ckpt=x.ckpt", "trainer.max_epochs=1"], "vivid=true ckpt=... trains nothing"),
        (["vivid=true"], "usage:"),
    ):
        assert make_colorizer.main(argv) == 1
        assert words in capsys.readouterr().err
