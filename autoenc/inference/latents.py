"""What a trained network's latent space holds (scripts/latents.py, make_table --probe): each
picture's code (the encoder's output, flattened), a 2-D map of them coloured by class, nearest
neighbours in code space, an interpolation between two pictures' codes, and a linear probe
(logistic regression on the training split's codes, scored on the test split's) that says how
much of the class a code holds. scikit-learn does the map and the probe."""

import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from autoenc import UserError
from autoenc.model.tasks import to_unit_rgb
from autoenc.runs.record import PROBE_FILE
from autoenc.training.module import AutoEncoder

MAX_ITER = 300  # lbfgs iterations of the probe: a 4096-wide code's fit may stop here (probe_iterations says)


@torch.no_grad()
def encode(model: AutoEncoder, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """uint8 (N, 32, 32, 3) pictures -> float32 (N, latent_size) codes of the task's input."""
    if model.hparams.get("skips"):
        raise UserError(
            "this network has skip connections (arch.skips=true): detail passes around its deepest stage, "
            "so that stage is not a code of the picture; latents need a CAE (arch.skips=false)"
        )
    codes = []
    for batch in images.split(batch_size):
        x, _ = model.task.split(to_unit_rgb(batch, channels_last=False), fixed=True)
        codes.append(model.net.encoder(x).flatten(1).float())
    return torch.cat(codes) if codes else torch.zeros(0, model.describe()["latent_size"])


@torch.no_grad()
def decode(model: AutoEncoder, codes: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Codes -> RGB in [-1, 1] (colour tasks: with the luminance x, as the model shows its predictions)."""
    shape = model.net.latent_shape()
    out = model.decode(model.net.decoder(codes.view(len(codes), *shape)))
    return model.task.to_rgb(x, out)


def check_labelled(train: torch.Tensor, test: torch.Tensor) -> None:
    """The probe's labels: at least two classes among the training pictures, and labelled test pictures."""
    if len(train[train >= 0].unique()) < 2 or not (test >= 0).any():
        raise UserError(
            "the linear probe needs pictures of at least two classes in the train split and labelled "
            "test pictures (cifar10; dataset=images: one sub-folder per class)"
        )


def probe_model(model: AutoEncoder | None, data, max_pictures: int | None = None, seed: int = 0) -> dict:
    """The linear probe of a model's codes on a set-up ImageDataModule: fitted on at most
    max_pictures of its labelled training pictures (a seeded choice), scored on its labelled test
    ones. model=None: on the pictures' own pixels, the baseline a code has to beat."""
    train, test = data.labels["train"], data.labels["test"]
    check_labelled(train, test)
    chosen = (train >= 0).nonzero().flatten()
    if max_pictures is not None and len(chosen) > max_pictures:
        chosen = chosen[torch.randperm(len(chosen), generator=torch.Generator().manual_seed(seed))[:max_pictures]]
    tested = (test >= 0).nonzero().flatten()
    features = (lambda x: to_unit_rgb(x, False).flatten(1)) if model is None else (lambda x: encode(model, x))
    return linear_probe(
        (features(data.train_set[chosen]).numpy(), train[chosen].numpy()),
        (features(data.test_set[tested]).numpy(), test[tested].numpy()),
    )


def linear_probe(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> dict:
    """Logistic regression (standardised codes, L2, scikit-learn's lbfgs) fitted on train's
    (codes, labels), scored on test's."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    (x, y), (xt, yt) = train, test
    started = time.time()
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=MAX_ITER))
    with warnings.catch_warnings():  # said in probe_iterations instead: at the cap, not converged to its tol
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(x, y)
    counts = np.bincount(yt)
    return {
        "probe_accuracy": float(probe.score(xt, yt)),
        "probe_train_accuracy": float(probe.score(x, y)),
        "probe_train_pictures": len(y),
        "probe_test_pictures": len(yt),
        "probe_majority": float(counts.max() / counts.sum()),
        "probe_iterations": int(probe[-1].n_iter_.max()),
        "probe_seconds": round(time.time() - started, 1),
    }


def probe_runs(sweep: Path) -> int:
    """Probe every finished run of a sweep that has no up-to-date probe; return how many ran."""
    jobs = sorted(p.parent for p in sweep.glob("*/metrics.json"))
    return sum(probe_run(job)[1] for job in jobs)


def probe_run(job: Path, max_pictures: int | None = None) -> tuple[dict, bool]:
    """A run's linear probe on its own data and split (all its training pictures, or at most
    max_pictures), kept in <run>/probe/probe.json (redone when its best checkpoint is newer or the
    setting differs) -> (its scores, whether it ran now)."""
    from autoenc.data.datamodule import ImageDataModule
    from autoenc.inference.checkpoints import load_checkpoint

    checkpoint = job / json.loads((job / "metrics.json").read_text())["best_checkpoint"]
    kept = job / PROBE_FILE
    if kept.is_file() and kept.stat().st_mtime >= checkpoint.stat().st_mtime:
        scores = json.loads(kept.read_text())
        if scores.get("max_pictures", "?") == max_pictures:
            return scores, False
    model, ckpt = load_checkpoint(checkpoint)
    data = ImageDataModule(**ckpt["datamodule_hyper_parameters"])
    data.setup()
    scores = {"checkpoint": str(checkpoint), "max_pictures": max_pictures, **probe_model(model, data, max_pictures)}
    kept.parent.mkdir(exist_ok=True)
    kept.write_text(json.dumps(scores, indent=1))
    return scores, True
