"""Scores of predicted RGB images against the truth, in one space for every task."""

import torch
from torch import nn
from torchmetrics import MeanSquaredError, Metric
from torchmetrics.image import StructuralSimilarityIndexMeasure

from autoenc.model.colour import ColourMaths


class WeightedMean(Metric):
    """Mean of values weighted by counts, summed across processes; a NaN or inf stays in it (no
    check, so no host sync per update). torchmetrics' MeanMetric(nan_strategy="disable") drops
    the weights (torchmetrics 1.9: update(1, weight=3), update(0, weight=1) gives 0.5)."""

    def __init__(self):
        super().__init__()
        self.add_state("total", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, mean: torch.Tensor, count: int) -> None:
        self.total += mean.detach().double() * count
        self.count += count

    def compute(self) -> torch.Tensor:
        return self.total / self.count


class PictureMean(Metric):
    """The mean of per-picture values, its sums kept on the device: no NaN check and no count copied
    from the host on an update (torchmetrics' MeanMetric and PSNR do one or the other: a host sync)."""

    def __init__(self):
        super().__init__()
        self.add_state("total", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, values: torch.Tensor) -> None:
        self.total += values.detach().double().sum()
        self.count += len(values)

    def compute(self) -> torch.Tensor:
        return (self.total / self.count).float()


class PictureMedian(Metric):
    """The median of per-picture values (NaN: left out), all kept on the device until compute."""

    def __init__(self):
        super().__init__()
        self.add_state("values", [], dist_reduce_fx="cat")

    def update(self, values: torch.Tensor) -> None:
        self.values.append(values.detach().float())

    def compute(self) -> torch.Tensor:
        values = torch.cat(self.values) if isinstance(self.values, list) else self.values
        return values.nanmedian()


def psnr(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Each picture's PSNR in dB, data range 1 (torchmetrics' PSNR with dim=(1, 2, 3), per picture)."""
    return 10 * torch.log10(1 / (pred - true).square().flatten(1).mean(1))


def colourfulness(rgb: torch.Tensor) -> torch.Tensor:
    """Hasler & Suesstrunk's (2003) colourfulness of each (3, H, W) image in [0, 1]; 0 for gray."""
    r, g, b = rgb.flatten(2).unbind(1)
    rg, yb = r - g, (r + g) / 2 - b
    spread = torch.sqrt(rg.var(1, unbiased=False) + yb.var(1, unbiased=False))
    return spread + 0.3 * torch.sqrt(rg.mean(1) ** 2 + yb.mean(1) ** 2)


def colourfulness_error(cf_pred: torch.Tensor, cf_true: torch.Tensor) -> torch.Tensor:
    """|CF_pred - CF_true| / CF_true per picture from their colourfulness (0: as colourful as the truth);
    NaN for a truth without colour (CF under 0.01, about 2.5 on Hasler's 0-255 scale), where the ratio means
    nothing."""
    error = (cf_pred - cf_true).abs() / cf_true
    return error.where(cf_true >= 0.01, torch.nan)


def ab_histograms(lab: torch.Tensor, bins: int = 16, limit: float = 100.0) -> torch.Tensor:
    """(N, 3, H, W) CIE-Lab -> (N, bins * bins): each image's share of pixels in each cell of a
    bins x bins grid over a, b in [-limit, limit] (values beyond it in the edge cells)."""
    cells = ((lab[:, 1:].clamp(-limit, limit) + limit) * (bins / (2 * limit))).long().clamp(max=bins - 1)
    index = (cells[:, 0] * bins + cells[:, 1]).flatten(1)
    ones = torch.ones(index.shape, device=lab.device)
    return torch.zeros(len(lab), bins * bins, device=lab.device).scatter_add_(1, index, ones) / index.shape[1]


def colour_distance(pred_lab: torch.Tensor, true_lab: torch.Tensor) -> torch.Tensor:
    """Per image, 1 - the intersection of the predicted and true a,b histograms: 0 when the
    picture has the right colours in the right amounts (wherever they are), 1 when none are shared.
    Unlike colourfulness it tells right colours from strong ones."""
    return 1 - torch.minimum(ab_histograms(pred_lab), ab_histograms(true_lab)).sum(1)


class RGBScores(nn.Module):
    """MSE on the study's [-1, 1] scale; on the displayable picture (clamped to [0, 1], data range 1)
    as the field reports them: PSNR as the mean of per-picture PSNR (psnr) and from the pooled MSE
    (psnr_pooled: 10 log10(1 / MSE over all pixels)), SSIM, colourfulness (the ratio of the means,
    and the median per-picture error |CF_pred - CF_true| / CF_true); torchmetrics accumulate them."""

    def __init__(self):
        super().__init__()
        self.mse = MeanSquaredError()
        self.psnr, self.ssim = PictureMean(), StructuralSimilarityIndexMeasure(data_range=1.0)
        self.mse_unit, self.colour_error = PictureMean(), PictureMedian()
        self.colour_pred, self.colour_true = PictureMean(), PictureMean()
        self.colour_distance, self.maths = PictureMean(), ColourMaths()

    def update(self, pred: torch.Tensor, true: torch.Tensor) -> None:
        """pred, true: RGB (N, 3, H, W) in [-1, 1]. Scored in fp32 also inside a bf16 autocast region
        (a bf16 run's test step): SSIM's convolutions in bf16 read 0.75 for pictures whose SSIM is 0.93."""
        # channels_last: SSIM's grouped 11x11 convolution runs 2.3x faster so on the CPU (AMD EPYC Zen 4)
        pred, true = (v.float().contiguous(memory_format=torch.channels_last) for v in (pred, true))
        with torch.autocast(pred.device.type, enabled=False):
            self.mse.update(pred.flatten(), true.flatten())
            p, t = (pred.clamp(-1, 1) + 1) / 2, (true + 1) / 2
            self.psnr.update(psnr(p, t))
            self.mse_unit.update((p - t).square().flatten(1).mean(1))  # equal-sized pictures: the pooled MSE
            self.ssim.update(p, t)
            cf_pred, cf_true = colourfulness(p), colourfulness(t)
            self.colour_pred.update(cf_pred)
            self.colour_true.update(cf_true)
            self.colour_error.update(colourfulness_error(cf_pred, cf_true))
            self.colour_distance.update(colour_distance(self.maths.rgb_to_lab(p), self.maths.rgb_to_lab(t)))

    def compute(self) -> dict[str, torch.Tensor]:
        return {
            "mse_rgb": self.mse.compute(),
            "psnr": self.psnr.compute(),
            "psnr_pooled": 10 * torch.log10(1 / self.mse_unit.compute()),
            "ssim": self.ssim.compute(),
            "colourfulness_ratio": self.colour_pred.compute() / self.colour_true.compute(),
            "colourfulness_error": self.colour_error.compute(),
            "colour_distance": self.colour_distance.compute(),
        }

    def reset(self) -> None:
        for m in self.children():
            if isinstance(m, Metric):
                m.reset()


class TestScores(nn.Module):
    """The test split's scores of a task: the MSE in task space; in RGB, every task alike, the
    prediction's, the no-colour baseline's (the gray picture) and, for a restoration task, the
    degraded input's ("do nothing")."""

    def __init__(self):
        super().__init__()
        self.mse = MeanSquaredError()
        self.rgb, self.gray, self.input = RGBScores(), RGBScores(), RGBScores()

    def update(self, task: nn.Module, x: torch.Tensor, y: torch.Tensor, pred: torch.Tensor, rgb: torch.Tensor) -> None:
        self.mse.update(pred.flatten(), y.flatten())  # flatten: the batch is channels-last
        self.rgb.update(task.to_rgb(x, pred), rgb)
        self.gray.update(task.colour.gray(rgb).expand(-1, 3, -1, -1), rgb)
        if task.restores:
            self.input.update(task.input_to_rgb(x), rgb)

    def compute(self, restores: bool) -> dict[str, torch.Tensor]:
        """test/<score> -> value, as the test loop logs them."""
        scores = {"test/mse": self.mse.compute()}
        scores |= {f"test/{key}": value for key, value in self.rgb.compute().items()}
        gray = self.gray.compute()
        # the gray picture's colourfulness ratio and error are 0 and 1: not scores
        scores |= {f"test/gray_{key}": value for key, value in gray.items() if not key.startswith("colourfulness")}
        if restores:
            scores |= {f"test/input_{key}": value for key, value in self.input.compute().items()}
        return scores

    def reset(self) -> None:
        for m in (self.mse, self.rgb, self.gray, self.input):
            m.reset()
