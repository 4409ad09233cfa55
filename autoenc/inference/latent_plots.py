"""The pictures of scripts/latents.py: the codes' 2-D map coloured by class, nearest neighbours in
code space, and an interpolation strip between two pictures' codes."""

from pathlib import Path

import numpy as np
import torch

from autoenc.inference.latents import decode, encode
from autoenc.model.tasks import to_unit_rgb
from autoenc.training.module import AutoEncoder


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def shown(rgb: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] -> (H, W, 3) in [0, 1] for imshow."""
    return ((rgb.float().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()


def plot_map(
    codes: torch.Tensor, labels: torch.Tensor, classes: list[str], method: str, path: Path, seed: int = 0
) -> dict[str, np.ndarray]:
    """The codes in 2-D (t-SNE or PCA, scikit-learn), one colour per class; returns what the map holds:
    each legend entry's points, read back from the figure."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    x = codes.numpy()
    if method == "tsne":
        points = TSNE(2, init="pca", perplexity=min(30.0, (len(x) - 1) / 3), random_state=seed).fit_transform(x)
    else:
        points = PCA(2, random_state=seed).fit_transform(x)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    labels = labels.numpy()
    for k in np.unique(labels):
        name = classes[k] if 0 <= k < len(classes) else "no class"
        sel = labels == k
        ax.scatter(points[sel, 0], points[sel, 1], s=4, alpha=0.7, label=name, color=plt.cm.tab10(k % 10))
    ax.set(title=f"{len(x)} codes, {method.upper() if method == 'pca' else 't-SNE'}", xticks=[], yticks=[])
    ax.legend(fontsize=7, markerscale=3, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    held = {dots.get_label(): np.asarray(dots.get_offsets()) for dots in ax.collections}
    plt.close(fig)
    return held


def plot_neighbours(
    images: torch.Tensor, codes: torch.Tensor, queries: list[int], k: int, path: Path
) -> list[list[int]]:
    """For each query picture its k nearest others by Euclidean distance between codes: a row each."""
    near = []
    for q in queries:
        d = (codes - codes[q]).square().sum(1)
        d[q] = float("inf")
        near.append(d.topk(k, largest=False).indices.tolist())
    plt = _pyplot()
    fig, axes = plt.subplots(len(queries), k + 1, figsize=(1.1 * (k + 1), 1.15 * len(queries)), squeeze=False)
    rgb = to_unit_rgb(images[[i for q, row in zip(queries, near, strict=True) for i in [q, *row]]], False)
    for ax, picture in zip(axes.flat, rgb, strict=True):
        ax.imshow(shown(picture))
        ax.set(xticks=[], yticks=[])
    axes[0, 0].set_title("picture", fontsize=8)
    for j in range(1, k + 1):
        axes[0, j].set_title(f"#{j}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return near


def plot_interpolation(
    model: AutoEncoder, a: torch.Tensor, b: torch.Tensor, steps: int, path: Path
) -> list[np.ndarray]:
    """Two pictures (uint8 (32, 32, 3)) and the decoded codes between theirs, in `steps` equal steps;
    a colour task's luminance is blended the same way. Returns the pictures the strip holds, read back."""
    pair = torch.stack([a, b])
    codes = encode(model, pair)
    x, _ = model.task.split(to_unit_rgb(pair, channels_last=False), fixed=True)
    w = torch.linspace(0, 1, steps).view(-1, 1)
    between = decode(
        model, (1 - w) * codes[0] + w * codes[1], (1 - w.view(-1, 1, 1, 1)) * x[0] + w.view(-1, 1, 1, 1) * x[1]
    )
    plt = _pyplot()
    fig, axes = plt.subplots(1, steps + 2, figsize=(1.1 * (steps + 2), 1.5))
    truth = to_unit_rgb(pair, channels_last=False)
    for ax, picture, title in zip(
        axes, [truth[0], *between, truth[1]], ["A", *[f"{t:.2f}" for t in w.flatten().tolist()], "B"], strict=True
    ):
        ax.imshow(shown(picture))
        ax.set(xticks=[], yticks=[])
        ax.set_title(title, fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    held = [ax.get_images()[0].get_array() for ax in axes]
    plt.close(fig)
    return held
