"""The training objective (conf/loss): `mse`, the study's, or `classify`: colour as a class.

An MSE loss makes a colorizer predict the mean of the colours it cannot tell apart, which is
near gray. `classify` (Zhang, Isola, Efros 2016, "Colorful Image Colorization") quantises the
two colour channels (U,V or a,b) into a bins x bins grid, trains a per-pixel cross-entropy over
the bins, each pixel weighted by how rare its true bin is in the training set (rebalancing:
w ~ 1 / ((1 - lambda) p + lambda / Q), normalised so the mean weight over the training pixels is
1), and decodes the predicted distribution by its annealed mean: softmax(logits / T) @ the bins'
centres. T -> 0: the most likely bin (vivid); T = 1: the distribution's mean (like MSE's answer).
The network's forward pass decodes, so everything downstream sees colour channels as from `mse`.
"""

import torch
import torch.nn.functional as F
from torch import nn

from autoenc import UserError

LOSSES = ("mse", "classify")
COLOUR_TASKS = ("y2uv", "l2ab")  # two colour channels on a plane
EXTENT = {"y2uv": 1.25, "l2ab": 1.0}  # the colour plane's half-width in task space (V reaches 1.23; a, b / 110)
DEFAULTS = {"mse": {}, "classify": {"bins": 10, "rebalance": 0.5, "temperature": 0.38}}


def check_loss(spec: dict | None, task: str) -> dict:
    """conf/loss's settings -> a complete spec; one line for an unknown name or setting or a task it cannot train."""
    spec = dict(spec or {"name": "mse"})
    name = spec.pop("name", "mse")
    if name not in LOSSES:
        raise UserError(f"loss={name!r} is unknown; valid losses: {', '.join(LOSSES)}")
    if name == "classify" and task not in COLOUR_TASKS:
        raise UserError(
            f"loss=classify with task={task}: it classifies two colour channels; use task=y2uv or "
            "task=l2ab, or loss=mse"
        )
    for key in spec:
        if key not in DEFAULTS[name]:
            valid = ", ".join(f"loss.{k}" for k in DEFAULTS[name]) or "none"
            raise UserError(f"loss.{key} is not a setting of loss={name}; its settings: {valid}")
    spec = {**DEFAULTS[name], **spec}
    if name == "classify":
        check_number("bins", spec["bins"], int, 2, 64)
        check_number("rebalance", spec["rebalance"], (int, float), 0, 1)
        check_number("temperature", spec["temperature"], (int, float), 0.01, 10)
    return {"name": name, **spec}


def check_number(key: str, value, kind, low, high) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        what = "an integer" if kind is int else "a number"
        raise UserError(f"loss.{key}={value!r}: must be {what} from {low} to {high}")


def build_loss(spec: dict | None, task: str, out_channels: int) -> nn.Module:
    spec = check_loss(spec, task)
    if spec["name"] == "mse":
        return MSE(out_channels)
    return ColourClasses(EXTENT[task], spec["bins"], spec["rebalance"], spec["temperature"])


class MSE(nn.Module):
    """The study's loss: the network predicts the target channels themselves."""

    name = "mse"

    def __init__(self, channels: int):
        super().__init__()
        self.out_channels = channels

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output, target)

    def decode(self, output: torch.Tensor) -> torch.Tensor:
        return output


class ColourClasses(nn.Module):
    """A bins x bins grid over the colour plane [-extent, extent]^2; its buffers (bin centres,
    class weights) move with the model and are saved in its checkpoints."""

    name = "classify"

    def __init__(self, extent: float, bins: int, rebalance: float, temperature: float):
        super().__init__()
        self.extent, self.bins, self.rebalance, self.temperature = extent, bins, rebalance, temperature
        self.out_channels = bins * bins
        step = 2 * extent / bins
        axis = torch.linspace(-extent + step / 2, extent - step / 2, bins)
        u, v = torch.meshgrid(axis, axis, indexing="ij")
        self.register_buffer("centres", torch.stack([u.flatten(), v.flatten()], 1))  # (Q, 2), class q = i * bins + j
        self.register_buffer("weights", torch.ones(self.out_channels))  # fit_weights sets them from the training set

    def classes(self, colour: torch.Tensor) -> torch.Tensor:
        """(N, 2, H, W) colour channels -> (N, H, W) the index of each pixel's bin (outside: the nearest edge bin)."""
        cell = ((colour.float() + self.extent) / (2 * self.extent) * self.bins).long().clamp(0, self.bins - 1)
        return cell[:, 0] * self.bins + cell[:, 1]

    @torch.no_grad()
    def fit_weights(self, colours) -> torch.Tensor:
        """Rebalancing weights from the training set's colours: an iterable of (N, 2, H, W) batches."""
        counts = torch.zeros(self.out_channels, dtype=torch.float64, device=self.weights.device)
        for colour in colours:
            counts += torch.bincount(self.classes(colour).flatten(), minlength=self.out_channels).to(counts)
        p = counts / counts.sum()
        w = 1 / ((1 - self.rebalance) * p + self.rebalance / self.out_channels)
        w = w / (p * w).sum()  # the mean weight over the training pixels is 1
        self.weights.copy_(w.float())
        return p

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of each pixel's true bin, weighted by the bin's rarity (mean weight over the data: 1)."""
        classes = self.classes(target)
        per_pixel = F.cross_entropy(logits.float(), classes, reduction="none")
        return (per_pixel * self.weights[classes]).mean()

    def decode(self, logits: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """(N, Q, H, W) -> (N, 2, H, W): the annealed mean of the predicted distribution."""
        t = self.temperature if temperature is None else temperature
        p = torch.softmax(logits.float() / t, dim=1)
        return torch.einsum("nqhw,qc->nchw", p, self.centres)

    def extra_repr(self) -> str:
        return f"bins={self.bins}x{self.bins}, rebalance={self.rebalance}, temperature={self.temperature}"
