import csv
import json
import math
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from conftest import ROOT, import_script, in_process
from omegaconf import OmegaConf

from autoenc.data.datamodule import ImageDataModule
from autoenc.model.metrics import RGBScores, colourfulness
from autoenc.model.tasks import get_task

RGB = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1


def scores(pred: torch.Tensor, true: torch.Tensor = RGB) -> dict[str, float]:
    s = RGBScores()
    s.update(pred, true)
    return {k: v.item() for k, v in s.compute().items()}


def test_colourfulness_of_gray_and_of_pure_colour():
    gray = torch.full((1, 3, 8, 8), 0.4)
    red = torch.zeros(1, 3, 8, 8)
    red[:, 0] = 1
    assert colourfulness(gray).item() == pytest.approx(0, abs=1e-6)
    assert colourfulness(red).item() == pytest.approx(0.3 * math.sqrt(1 + 0.25))  # rg = 1, yb = 0.5, flat


def test_perfect_prediction_scores():
    s = scores(RGB.clone())
    assert s["mse_rgb"] == 0 and math.isinf(s["psnr"])
    assert s["ssim"] == pytest.approx(1) and s["colourfulness_ratio"] == pytest.approx(1)


def test_colour_distance_tells_right_colours_from_strong_ones():
    """0 for the truth, also moved about (the right colours in the right amounts); large for gray,
    and for strong colours that are the wrong ones (R and B swapped)."""
    truth = scores(RGB.clone())["colour_distance"]
    moved = scores(RGB.roll(7, dims=-1))["colour_distance"]
    gray = scores(get_task("gray2rgb").split(RGB)[0].expand(-1, 3, -1, -1))["colour_distance"]
    reds = torch.tensor([0.6, -0.5, -0.4]).view(1, 3, 1, 1) + 0.2 * RGB  # reddish pictures
    swapped = scores(reds.flip(1), reds)  # as blue as they are red
    assert truth == 0 and moved == pytest.approx(0, abs=1e-6)
    assert gray > 0.5 and swapped["colour_distance"] > 0.9
    assert swapped["colourfulness_ratio"] == pytest.approx(1, rel=0.2)  # about as strong as the truth, yet wrong


def test_no_colour_prediction_is_the_gray_baseline():
    y, uv = get_task("y2uv").split(RGB)
    no_colour = get_task("y2uv").to_rgb(y, torch.zeros_like(uv))  # U = V = 0
    gray = get_task("gray2rgb").split(RGB)[0].expand(-1, 3, -1, -1)
    s, baseline = scores(no_colour), scores(gray)
    assert s["colourfulness_ratio"] == pytest.approx(0, abs=1e-5)
    for key in ("mse_rgb", "psnr", "ssim"):
        assert s[key] == pytest.approx(baseline[key], rel=1e-4)
    expected = torch.mean((gray - RGB) ** 2).item()
    assert s["mse_rgb"] == pytest.approx(expected, rel=1e-5)
    per_image_mse = torch.mean(((gray - RGB) / 2) ** 2, dim=(1, 2, 3))  # on the [0, 1] scale
    assert s["psnr"] == pytest.approx(statistics.fmean(10 * math.log10(1 / m) for m in per_image_mse.tolist()))


@pytest.mark.slow
def test_scores_are_fp32_inside_a_bf16_autocast_region():
    """A bf16 run's test step runs under autocast: the scores must not (SSIM's convolutions in bf16
    were 0.75 where fp32 gives 0.93)."""
    true = RGB.clamp(-0.9, 0.9)
    pred = (true + 0.05 * torch.randn(true.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    fp32 = scores(pred, true)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16 = scores(pred, true)
    assert bf16 == pytest.approx(fp32, rel=1e-6)


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory) -> tuple[list, float]:
    """8 one-epoch runs (2 archs x 2 tasks x seeds 0, 1) of experiment=table: (their job folders,
    the sweep's wall time). Tests copy them: the folder is shared."""
    sweep = tmp_path_factory.mktemp("tiny") / "sweep"
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        "-m",
        "experiment=table",
        "dataset=photos",
        "trainer=debug",
        "arch=classic,4-6-8",
        "task=reconstruct,y2uv",
        "seed=0,1",
        "trainer.enable_progress_bar=false",
        f"hydra.sweep.dir={sweep}",
    ]
    launched = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return sorted(p for p in sweep.iterdir() if p.is_dir()), time.time() - launched


def make_table_cli(*args) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "scripts" / "make_table.py"), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)


def make_table_here(*args) -> subprocess.CompletedProcess:
    """make_table.py's main in this process: for the cases after a first run as a user runs it."""
    return in_process("make_table", *args)


@pytest.mark.slow
def test_make_table_on_a_tiny_sweep(tmp_path, tiny_sweep):
    sweep = tmp_path / "sweep"
    for job in tiny_sweep[0]:
        shutil.copytree(job, sweep / job.name)
    sweep_wall = tiny_sweep[1]
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert len(jobs) == 8 and all((j / "metrics.json").is_file() for j in jobs)
    # a job that failed (the real failure path, into the sweep), and one that was killed
    bad = [
        sys.executable,
        str(ROOT / "train.py"),
        "dataset=photos",
        "arch.kernel_size=4",
        "task=l2ab",
        f"hydra.run.dir={sweep / '8_classic_l2ab_s0'}",
    ]
    assert subprocess.run(bad, capture_output=True, cwd=ROOT, timeout=300).returncode == 1
    shutil.copytree(jobs[0] / ".hydra", sweep / "9_killed" / ".hydra")

    r = make_table_cli(sweep)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "| classic | reconstruct | photos |" in r.stdout
    assert "2 job(s) failed" in r.stdout and "kernel_size=4: must be a positive odd number" in r.stdout
    assert "9_killed" in r.stdout and "killed" in r.stdout

    rows = list(csv.DictReader((sweep / "table.csv").open()))
    assert [(row["arch"], row["task"]) for row in rows] == [
        ("classic", "reconstruct"),
        ("classic", "y2uv"),
        ("4-6-8", "reconstruct"),
        ("4-6-8", "y2uv"),
    ]
    runs = [json.loads((j / "metrics.json").read_text()) for j in jobs]
    for row in rows:
        cell = [m for m in runs if (m["arch"], m["task"]) == (row["arch"], row["task"])]
        assert int(row["seeds"]) == 2 and {m["seed"] for m in cell} == {0, 1}
        for key in ("test_mse", "test_mse_rgb", "test_psnr", "test_ssim"):
            values = [m[key] for m in cell]
            assert float(row[key]) == pytest.approx(statistics.fmean(values))
            assert float(row[key + "_std"]) == pytest.approx(statistics.stdev(values))
        assert row["study_mse"] == ""  # 1-epoch runs: the study's numbers are of 15 epochs
    table = (sweep / "table.md").read_text()
    assert "No-colour baseline on photos" in table and table in r.stdout
    # U = V = 0 against the test split's U, V (BT.470 as kornia rounds it, on the [-1, 1] RGB, written out)
    config = OmegaConf.load(jobs[0] / ".hydra" / "config.yaml")
    data = ImageDataModule(**OmegaConf.to_container(config.dataset))
    data.setup()
    rgb = data.test_set.double().div(127.5).sub(1)  # (N, H, W, 3)
    u = rgb @ torch.tensor([-0.147, -0.289, 0.436], dtype=torch.float64)
    v = rgb @ torch.tensor([0.615, -0.515, -0.100], dtype=torch.float64)
    no_colour = ((u.square().mean() + v.square().mean()) / 2).item()
    y2uv_row = next(line for line in table.splitlines() if line.startswith("| classic | y2uv |"))
    assert float(y2uv_row.split("|")[10]) == pytest.approx(no_colour, abs=6e-6)  # printed with 5 decimals
    assert f"U = V = 0 {no_colour:.5f}" in table
    # where the time went: one process, one job after another, so the parts add up to less than the wall time
    timing = next(line for line in table.splitlines() if line.startswith("**Time:** 8 runs in "))
    wall = float(timing.split(" runs in ")[1].split(" s")[0])
    first_step = float(timing.split("training step ")[1].split(" s")[0])
    parts = sum(m["timing"][k] for m in runs for k in ("load_s", "fit_s", "test_s"))
    assert 0 < first_step < wall and parts < wall <= sweep_wall + 1  # process start is known to within a second
    for png in ("val_mse.png", "mse_vs_latent.png", "strip_reconstruct.png", "strip_y2uv.png"):
        assert (sweep / png).stat().st_size > 10_000
    assert_plots_hold_the_sweep(sweep, tmp_path / "plots")


def assert_plots_hold_the_sweep(sweep, out) -> None:
    """What the latent plot and the strips hold, read back from their figures: each cell's RGB MSE at
    its latent size; the best run of each task with its input, prediction and the test pictures."""
    from autoenc.report.baseline import load_test_split
    from autoenc.report.plots import plot_latent, plot_strips
    from autoenc.report.table import aggregate, collect

    out.mkdir()
    results, _ = collect(sweep)
    rows = aggregate(results)
    held = plot_latent(rows, out / "latent.png")
    assert sorted(held) == ["reconstruct", "y2uv"]
    for task, points in held.items():
        cells = [r for r in rows if r["task"] == task]
        assert [(arch, latent) for arch, latent, _ in points] == [(r["arch"], r["latent_size"]) for r in cells]
        assert [mse for *_, mse in points] == pytest.approx([r["test_mse_rgb"] for r in cells])
    for task, strip in plot_strips(out, results).items():
        best = min((r for r in results if r["task"] == task), key=lambda r: r["test_mse_rgb"])
        assert strip["run"] == best["job"] and strip["path"].stat().st_size > 10_000
        inputs, predictions, truth = (np.stack(row) for row in strip["rows"])
        pictures = (load_test_split(sweep / best["job"], 8).permute(0, 2, 3, 1).numpy() + 1) / 2
        np.testing.assert_allclose(truth, pictures, atol=1e-6)  # the first 8 test pictures
        assert not np.allclose(predictions, truth) and predictions.min() >= 0 and predictions.max() <= 1
        if task == "y2uv":  # the network saw the luma only: a gray picture
            np.testing.assert_allclose(inputs[..., 0], inputs[..., 2], atol=1e-6)
        else:
            np.testing.assert_allclose(inputs, pictures, atol=1e-6)


@pytest.mark.slow
def test_make_table_of_several_sweeps_and_pooled_with_an_earlier_table(tmp_path, tiny_sweep):
    """Seeds 0 and 1 in two sweeps make the table of one; seed 1's runs pooled with the table.csv of
    seed 0's (its runs gone) give the same means and stds; a run counted twice is refused."""
    jobs = tiny_sweep[0]
    for job in jobs:
        seed = json.loads((job / "metrics.json").read_text())["seed"]
        shutil.copytree(job, tmp_path / f"seed{seed}" / job.name)
    both, one, two = tmp_path / "both", tmp_path / "seed0", tmp_path / "seed1"
    r = make_table_cli(one, two, "--out", both)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "**Time:**" not in r.stdout  # one wall time of parts run apart would mean nothing
    whole = {(row["arch"], row["task"]): row for row in csv.DictReader((both / "table.csv").open())}
    assert len(whole) == 4 and all(row["seeds"] == "2" and row["seed_list"] == "0 1" for row in whole.values())
    runs = [json.loads((j / "metrics.json").read_text()) for j in jobs]
    for (arch, task), row in whole.items():
        values = [m["test_mse"] for m in runs if (m["arch"], m["task"]) == (arch, task)]
        assert float(row["test_mse"]) == pytest.approx(statistics.fmean(values))
        assert float(row["test_mse_std"]) == pytest.approx(statistics.stdev(values))
    assert (both / "val_mse.png").is_file() and (both / "strip_y2uv.png").is_file()

    assert make_table_here(one).returncode == 0
    shutil.copy(one / "table.csv", tmp_path / "earlier.csv")
    for job in one.iterdir():  # the earlier table's runs are gone: only its table.csv is left
        if job.is_dir():
            shutil.rmtree(job)
    pooled = tmp_path / "pooled"
    r = make_table_here(two, "--earlier", tmp_path / "earlier.csv", "--out", pooled)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "pooled with its rows" in r.stdout and not (pooled / "val_mse.png").exists()
    rows = {(row["arch"], row["task"]): row for row in csv.DictReader((pooled / "table.csv").open())}
    assert rows.keys() == whole.keys()
    for key, row in rows.items():
        assert row["seeds"] == "2" and row["seed_list"] == "0 1"
        for score in ("test_mse", "test_mse_std", "test_mse_rgb", "test_mse_rgb_std", "test_psnr", "test_psnr_std"):
            assert float(row[score]) == pytest.approx(float(whole[key][score]), rel=1e-9)

    r = make_table_here(two, "--earlier", pooled / "table.csv", "--out", tmp_path / "again")
    assert r.returncode == 1 and "seed(s) [1] are both in" in r.stderr and "count twice" in r.stderr
    r = make_table_here(two, two, "--out", tmp_path / "twice")
    assert r.returncode == 1 and "a seed twice among" in r.stderr and "Traceback" not in r.stderr
    r = make_table_here(two, "--earlier", tmp_path / "gone.csv")
    assert r.returncode == 1 and r.stderr.strip() == f"error: --earlier {tmp_path / 'gone.csv'}: no such file"


def test_dataset_label_names_the_folder_of_images():
    from autoenc.report.table import dataset_label

    assert dataset_label(OmegaConf.create({"name": "images", "root": "/data/cifar10-jpeg/"})) == "images:cifar10-jpeg"
    assert dataset_label(OmegaConf.create({"name": "photos", "root": None})) == "photos"


def test_study_number_only_for_the_cell_the_study_ran():
    from autoenc.report.cells import study_mse

    assert study_mse("classic", "reconstruct", 15, 1e-3) == 0.017909
    assert study_mse("32-48-64_single", "y2uv", 15, 1e-5) == 0.013091
    assert study_mse("32-48-64_single", "y2uv", 50, 1e-3) is None  # the study ran 15 epochs
    assert study_mse("32-48-64_single", "y2uv", 15, 1e-4) is None


def test_make_table_scores_every_run_on_files_of_pictures(tmp_path, y2uv_run, capsys):
    """--pictures NAME=FILE: a column per file, the run's best checkpoint on every picture of it;
    kept beside the run and redone only when the file (or the checkpoint) changes."""
    import numpy as np

    make_table = import_script("make_table")

    sweep = tmp_path / "sweep"
    shutil.copytree(y2uv_run, sweep / "run")
    trained = json.loads((sweep / "run" / "metrics.json").read_text())
    data = ImageDataModule("photos")
    data.setup()
    test = data.test_set.numpy()
    np.savez(tmp_path / "same.npz", images=test)
    noisy = np.clip(test.astype(int) + np.random.default_rng(0).integers(-20, 21, test.shape), 0, 255).astype(np.uint8)
    np.save(tmp_path / "noisy.npy", noisy)
    args = [str(sweep), "--pictures", f"same={tmp_path / 'same.npz'}", f"noisy={tmp_path / 'noisy.npy'}"]
    assert make_table.main(args) == 0
    out = capsys.readouterr()
    assert "scored 2 checkpoint x file pair(s) anew" in out.err
    row = next(csv.DictReader((sweep / "table.csv").open()))
    assert float(row["on_same_mse"]) == pytest.approx(trained["test_mse"], rel=1e-5)  # its test split, as a file
    assert float(row["on_same_mse_rgb"]) == pytest.approx(trained["test_mse_rgb"], rel=1e-5)
    assert float(row["on_noisy_mse_rgb"]) > float(row["on_same_mse_rgb"])
    for score in ("psnr", "psnr_pooled", "ssim"):  # the field's scores too, per file
        assert float(row[f"on_same_{score}"]) == pytest.approx(trained[f"test_{score}"], rel=1e-4)
        assert float(row[f"on_noisy_{score}"]) < float(row[f"on_same_{score}"])
    header = next(line for line in out.out.splitlines() if line.startswith("| arch |"))
    assert header.endswith(
        "| on noisy MSE | on noisy RGB MSE | on noisy PSNR dB | on noisy pooled dB | on noisy SSIM | on same MSE "
        "| on same RGB MSE | on same PSNR dB | on same pooled dB | on same SSIM |"
    )
    assert make_table.main(args) == 0 and "scored 0 checkpoint" in capsys.readouterr().err
    assert make_table.main([*args, "--ratio", "noisy/same"]) == 0  # paired: each run's own ratio
    row = next(csv.DictReader((sweep / "table.csv").open()))
    ratio = float(row["on_noisy_over_same_mse_rgb"])
    assert ratio == pytest.approx(float(row["on_noisy_mse_rgb"]) / float(row["on_same_mse_rgb"])) and ratio > 1
    assert "| on noisy / same MSE | on noisy / same RGB MSE |" in capsys.readouterr().out
    assert make_table.main([str(sweep), "--ratio", "gone/same"]) == 1
    assert "--ratio gone/same: no run is scored on 'gone'; give --pictures gone=FILE" in capsys.readouterr().err
    np.savez(tmp_path / "same.npz", images=noisy)  # the file changed: scored again
    assert make_table.main(args) == 0 and "scored 1 checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        make_table.main([str(sweep), "--pictures", "same"])
    assert "give NAME=FILE" in capsys.readouterr().err
    assert make_table.main([str(sweep), "--pictures", f"gone={tmp_path / 'gone.npz'}"]) == 1
    assert capsys.readouterr().err.strip() == f"error: --pictures gone={tmp_path / 'gone.npz'}: no such file"


def curves_run(arch: str, lr: float, epochs: int, seed: int) -> dict:
    """A run as make_table collects it, for the plots: its cell and its validation curve."""
    curve = [0.1 / (1 + e) / (1 + lr) for e in range(epochs)]
    return {
        "arch": arch,
        "task": "y2uv",
        "dataset": "photos",
        "epochs": epochs,
        "max_epochs": epochs,
        "lr": lr,
        "scheduler": "none",
        "seed": seed,
        "history": {"val_mse": curve},
    }


def test_the_curve_plot_names_each_line_by_what_varies(tmp_path):
    from autoenc.report.plots import plot_curves

    by_lr = [curves_run(a, lr, 3, s) for a in ("classic", "4-6-8") for lr in (1e-3, 2e-3) for s in (0, 1)]
    legends = plot_curves(by_lr, tmp_path / "lr.png")
    assert legends == {"y2uv": ["classic lr 0.002", "classic lr 0.001", "4-6-8 lr 0.002", "4-6-8 lr 0.001"]}
    by_epochs = [curves_run("classic", 1e-3, e, 0) for e in (5, 15)]
    assert plot_curves(by_epochs, tmp_path / "ep.png") == {"y2uv": ["classic 5 ep", "classic 15 ep"]}
    early = {**curves_run("classic", 1e-3, 15, 1), "epochs": 9}  # early stopping: still the 15-epoch cell
    assert plot_curves([*by_epochs, early], tmp_path / "ep.png") == {"y2uv": ["classic 5 ep", "classic 15 ep"]}
    assert plot_curves(by_lr[:2], tmp_path / "one.png") == {"y2uv": ["classic"]}  # nothing varies: the arch
