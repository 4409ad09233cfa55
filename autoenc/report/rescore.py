"""A sweep's runs scored on more pictures: each run's best checkpoint through eval.py's path
(dataset=array, split=all) on files of pictures, e.g. CIFAR-10's original pixels beside the
same pictures as a JPEG copy holds them. Kept in <run>/pictures/<name>/ (metrics.json and
TensorBoard events, as eval.py writes them); make_table adds their scores as columns."""

import json
from pathlib import Path

from hydra import compose, initialize_config_dir

from autoenc import CONF, UserError
from autoenc.runs.record import PROBE_FILE


def score_runs(sweep: Path, pictures: dict[str, Path]) -> int:
    """Score every finished run of the sweep on each file of pictures (name -> .npz/.npy) that it
    has no up-to-date score for; return how many evaluations ran."""
    from autoenc.inference.evaluate import evaluate

    for name, file in pictures.items():
        if not Path(file).expanduser().is_file():
            raise UserError(f"--pictures {name}={file}: no such file")
    ran, sweep = 0, sweep.resolve()
    pictures = {name: Path(file).expanduser().resolve() for name, file in pictures.items()}
    for job in sorted(p.parent for p in sweep.glob("*/metrics.json")):
        checkpoint = job / json.loads((job / "metrics.json").read_text())["best_checkpoint"]
        for name, file in pictures.items():
            out = job / "pictures" / name
            if up_to_date(out / "metrics.json", checkpoint, file):
                continue
            with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
                cfg = compose(
                    "eval",
                    overrides=[
                        f"ckpt_path={checkpoint}",
                        "dataset=array",
                        f"dataset.root={file}",
                        "split=all",
                        f"output_dir={out}",
                    ],
                )
            evaluate(cfg)
            ran += 1
    return ran


def up_to_date(scores: Path, checkpoint: Path, pictures: Path) -> bool:
    """Scores of this checkpoint on this file, written after both last changed."""
    if not scores.is_file():
        return False
    evaluated = json.loads(scores.read_text()).get("evaluated", {})
    newest = max(checkpoint.stat().st_mtime, pictures.stat().st_mtime)
    return (
        evaluated.get("checkpoint") == str(checkpoint)
        and evaluated.get("dataset_root") == str(pictures)
        and scores.stat().st_mtime >= newest
    )


# A run's scores on other pictures, as make_table's columns: on_<name>_<score> <- the evaluation's test_<score>
OTHER_SCORES = ("mse", "mse_rgb", "psnr", "psnr_pooled", "ssim", "input_psnr", "input_psnr_pooled")


def read_scores(job: Path) -> dict[str, float]:
    """A run's scores on other pictures: on_<name>_mse (task space), _mse_rgb, _psnr (mean per picture),
    _psnr_pooled, _ssim and, for a restoration task, _input_psnr and _input_psnr_pooled (doing nothing)."""
    out = {}
    for scores in sorted(job.glob("pictures/*/metrics.json")):
        m = json.loads(scores.read_text())
        name = scores.parent.name
        out |= {f"on_{name}_{key}": m[f"test_{key}"] for key in OTHER_SCORES if f"test_{key}" in m}
    return out


def read_probe(job: Path) -> dict[str, float]:
    """A run's linear-probe accuracy (make_table --probe, autoenc/inference/latents.py), where it has one."""
    kept = job / PROBE_FILE
    return {"probe_accuracy": json.loads(kept.read_text())["probe_accuracy"]} if kept.is_file() else {}


def add_ratios(results: list[dict], pairs: list[tuple[str, str]]) -> None:
    """Each run's MSE on pictures a over its MSE on pictures b (the same checkpoint on two files,
    e.g. original pixels over their JPEG copy): on_<a>_over_<b>_mse and _mse_rgb, per run, so a
    cell's mean and std are of paired ratios."""
    for a, b in pairs:
        for name in (a, b):
            if not any(f"on_{name}_mse" in r for r in results):
                raise UserError(f"--ratio {a}/{b}: no run is scored on {name!r}; give --pictures {name}=FILE")
        for r in results:
            for space in ("mse", "mse_rgb"):
                if f"on_{a}_{space}" in r and f"on_{b}_{space}" in r:
                    r[f"on_{a}_over_{b}_{space}"] = r[f"on_{a}_{space}"] / r[f"on_{b}_{space}"]


def other_pictures(results: list[dict]) -> list[str]:
    """The keys of the scores on other pictures (autoenc/report/rescore.py) that some run has, in name order."""
    return sorted({key for r in results for key in r if key.startswith("on_")})
