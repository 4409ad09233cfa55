"""scripts/latents.py and make_table --probe: codes, their map, neighbours, interpolation and a
linear probe, on a folder of pictures whose sub-folders are their classes."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import QUIET, ROOT, compose_config, import_script
from PIL import Image

from autoenc import UserError
from autoenc.training.fit import train


def write_two_classes(root, n: int = 60) -> None:
    """Reddish and bluish noise pictures, one sub-folder each: a class any code should hold."""
    rng = np.random.default_rng(0)
    for name, channel in (("red", 0), ("blue", 2)):
        (root / name).mkdir(parents=True)
        for i in range(n):
            picture = rng.integers(0, 120, (32, 32, 3))
            picture[..., channel] += 130
            Image.fromarray(picture.astype(np.uint8)).save(root / name / f"{i}.png")


@pytest.fixture(scope="module")
def labelled_run(tmp_path_factory):
    """(a reconstruct run trained on the two classes, their folder)."""
    base = tmp_path_factory.mktemp("latents")
    write_two_classes(base / "pictures")
    run = base / "sweep" / "run"
    train(
        compose_config(
            "config",
            run,
            "dataset=images",
            f"dataset.root={base / 'pictures'}",
            "dataset.cache_dir=null",
            "trainer=debug",
            *QUIET,
        )
    )
    return run, base / "pictures"


def latents_cli(*args) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "scripts" / "latents.py"), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.slow
def test_latents_writes_codes_map_neighbours_interpolation_and_probe(labelled_run, tmp_path):
    run, _ = labelled_run
    out = tmp_path / "latents"
    r = latents_cli(
        f"ckpt={run / 'checkpoints' / 'best.ckpt'}",
        f"output_dir={out}",
        "queries=[0,1]",
        "neighbours=3",
        "probe_pixels=true",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    with np.load(out / "codes.npz") as saved:
        codes, labels, classes = saved["codes"], saved["labels"], saved["classes"].tolist()
    assert classes == ["blue", "red"] and codes.shape == (12, 1024) and codes.dtype == np.float32  # 120: 12 test
    assert set(labels.tolist()) <= {0, 1} and len(set(labels.tolist())) == 2
    result = json.loads((out / "latents.json").read_text())
    assert result["split"] == "test" and result["pictures"] == 12 and result["latent_size"] == 1024
    assert result["probe_train_pictures"] == 96 and result["probe_test_pictures"] == 12
    assert result["probe_accuracy"] >= 0.9 > result["probe_majority"]  # the colour class is in the code
    assert result["pixels_probe_accuracy"] >= 0.9  # and in the pixels: the baseline
    near = result["neighbours"]
    assert sorted(near) == ["0", "1"] and all(len(v) == 3 and int(q) not in v for q, v in near.items())
    for png in ("map.png", "neighbours.png", "interpolation.png"):
        assert (out / png).stat().st_size > 5_000
    assert f"linear probe {result['probe_accuracy']:.3f}" in r.stdout


def latents_in_process(out, *overrides: str) -> dict:
    from hydra import compose, initialize_config_dir

    latents = import_script("latents")

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return latents.latents(compose("latents", overrides=[f"output_dir={out}", *overrides]))


def test_pca_map_other_split_and_no_probe(labelled_run, tmp_path):
    run, _ = labelled_run
    result = latents_in_process(
        tmp_path,
        f"ckpt={run / 'checkpoints' / 'best.ckpt'}",
        "map=pca",
        "split=val",
        "probe=false",
        "interpolate=[2,5]",
        "steps=4",
        "queries=[3]",
    )
    assert result["split"] == "val" and "probe_accuracy" not in result and (tmp_path / "map.png").is_file()
    result = latents_in_process(tmp_path, f"ckpt={run / 'checkpoints' / 'best.ckpt'}", "probe_pictures=50")
    assert result["probe_train_pictures"] == 50 and result["probe_test_pictures"] == 12


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["queries=[0,500]"], r"queries=\[0, 500\], interpolate=\[0, 1\]: indices of the test split \(0 to 11\)"),
        (["map=umap"], "map is tsne or pca"),
        (["dataset=photos"], "the linear probe needs pictures of at least two classes"),
    ],
)
def test_bad_latents_settings_say_what_is_valid(labelled_run, tmp_path, args, message):
    run, _ = labelled_run
    with pytest.raises(UserError, match=message):
        latents_in_process(tmp_path, f"ckpt={run / 'checkpoints' / 'best.ckpt'}", *args)


@pytest.mark.slow
def test_latents_without_a_checkpoint_is_one_line(tmp_path):
    r = latents_cli(f"output_dir={tmp_path}")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert (
        r.stderr.strip()
        == "error: give the checkpoint: python scripts/latents.py ckpt=outputs/runs/.../checkpoints/best.ckpt"
    )


def test_make_table_probe_column(labelled_run, tmp_path, capsys):
    import shutil

    make_table = import_script("make_table")

    run, _ = labelled_run
    sweep = tmp_path / "sweep"
    shutil.copytree(run, sweep / "run")
    assert make_table.main([str(sweep), "--probe"]) == 0
    out = capsys.readouterr()
    kept = json.loads((sweep / "run" / "probe" / "probe.json").read_text())
    assert "probed 1 checkpoint(s) anew" in out.err and kept["probe_accuracy"] >= 0.9
    header = next(line for line in out.out.splitlines() if line.startswith("| arch |"))
    row = next(line for line in out.out.splitlines() if line.startswith("| classic |"))
    column = header.split("|").index(" probe ")
    assert row.split("|")[column] == f" {kept['probe_accuracy']:.3f} "
    assert make_table.main([str(sweep), "--probe"]) == 0
    assert "probed 0 checkpoint(s) anew" in capsys.readouterr().err  # kept, not redone
    from autoenc.inference.latents import probe_run

    scores, ran = probe_run(sweep / "run", max_pictures=50)  # another setting: probed again, and kept
    assert ran and scores["probe_train_pictures"] == 50 and not probe_run(sweep / "run", max_pictures=50)[1]


def test_the_latent_plots_hold_the_codes_and_the_pictures_between(labelled_run, tmp_path):
    """Read back from the figures: the map's points are the codes' PCA, one legend entry per class;
    the interpolation strip starts and ends at the two pictures, with the decoded codes between."""
    import torch
    from sklearn.decomposition import PCA

    from autoenc.data.datamodule import ImageDataModule
    from autoenc.inference.checkpoints import load_checkpoint
    from autoenc.inference.latent_plots import plot_interpolation, plot_map
    from autoenc.inference.latents import decode, encode
    from autoenc.model.tasks import to_unit_rgb

    run, _ = labelled_run
    model, ckpt = load_checkpoint(run / "checkpoints" / "best.ckpt")
    data = ImageDataModule(**ckpt["datamodule_hyper_parameters"])
    data.setup()
    codes, labels = encode(model, data.test_set), data.labels["test"]
    held = plot_map(codes, labels, data.classes, "pca", tmp_path / "map.png")
    assert sorted(held) == sorted(data.classes[k] for k in labels.unique())
    points = PCA(2, random_state=0).fit_transform(codes.numpy())
    for k, name in enumerate(data.classes):
        np.testing.assert_allclose(held[name], points[(labels == k).numpy()], atol=1e-5)
    a, b = data.test_set[0], data.test_set[1]
    shown = plot_interpolation(model, a, b, 5, tmp_path / "between.png")
    assert len(shown) == 7  # A, five steps, B
    truth = (to_unit_rgb(torch.stack([a, b]), channels_last=False) + 1) / 2
    np.testing.assert_allclose(shown[0], truth[0].permute(1, 2, 0).numpy(), atol=1e-6)
    np.testing.assert_allclose(shown[-1], truth[1].permute(1, 2, 0).numpy(), atol=1e-6)
    ends = decode(model, encode(model, torch.stack([a, b])), to_unit_rgb(torch.stack([a, b]), channels_last=False))
    np.testing.assert_allclose(shown[1], ((ends[0].clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy(), atol=1e-5)
    np.testing.assert_allclose(shown[-2], ((ends[1].clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy(), atol=1e-5)
