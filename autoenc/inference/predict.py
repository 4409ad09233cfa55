"""Use a trained model: load a checkpoint safely, and run it on pictures of any size.

The network is fully convolutional: a picture is padded (reflect) to a multiple of its
total down-sampling, run, and cropped back. For colour tasks the output keeps the input's
own full-resolution luminance and takes only the colour from the model.
"""

import inspect
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from autoenc import UserError
from autoenc.data.pictures import Picture, read
from autoenc.model.colour import ColourMaths
from autoenc.model.tasks import COLOUR, get_task
from autoenc.runs.folder import DamagedCheckpoint, read_checkpoint
from autoenc.training.module import AutoEncoder

HPARAMS = tuple(inspect.signature(AutoEncoder.__init__).parameters)[1:]  # its arguments, as hparams records them
SHIPPED_COLORIZER = Path(__file__).parents[1] / "assets" / "colorizer_y2uv_cifar.ckpt"  # scripts/dev/make_colorizer.py
VIVID_COLORIZER = Path(__file__).parents[1] / "assets" / "colorizer_y2uv_vivid.ckpt"  # ... vivid=true (task.saturation)
KEEP_ALPHA = (".png", ".webp", ".tif", ".tiff", ".gif")  # output formats that keep transparency


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[AutoEncoder, dict]:
    """An autoenc checkpoint -> (model in eval mode, the checkpoint dict). Loaded with
    torch.load(weights_only=True): tensors and plain values only, never pickled code."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    try:
        ckpt = read_checkpoint(path)  # pickled code: a UserError that says it was refused
    except DamagedCheckpoint as e:
        raise UserError(f"checkpoint {path} is corrupt or not an autoenc checkpoint: {e}") from None
    hparams = ckpt.get("hyper_parameters")
    if not isinstance(hparams, dict) or not {"widths", "kernel_size", "block", "task"} <= hparams.keys():
        raise UserError(f"{path} is not an autoenc checkpoint (no widths/kernel_size/block/task hyper-parameters)")
    model = AutoEncoder(**{k: hparams[k] for k in HPARAMS if k in hparams})  # optimizer checked there
    try:
        model.load_state_dict(ckpt["state_dict"])
    except (KeyError, RuntimeError) as e:
        raise UserError(f"{path}: weights do not fit the arch it names: {str(e).splitlines()[0]}") from None
    return model.to(device).eval(), ckpt


def set_temperature(model: AutoEncoder, temperature) -> None:
    """Decode a loss=classify model's colours at another temperature (T -> 0 vivid, 1 the mean)."""
    if model.objective.name != "classify":
        raise UserError(
            f"temperature={temperature}: only a model trained with loss=classify has one "
            f"(this one: loss={model.objective.name})"
        )
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0.01 <= temperature <= 10:
        raise UserError(f"temperature={temperature!r}: must be a number from 0.01 to 10")
    model.objective.temperature = float(temperature)


def set_saturation(model: AutoEncoder, saturation) -> None:
    """Decode a colour task's model with its chroma times `saturation` (1: as predicted, 0: gray)."""
    if model.task.name not in COLOUR:
        raise UserError(
            f"saturation={saturation}: only a colour task's model has one ({', '.join(COLOUR)}; "
            f"this one: task={model.task.name})"
        )
    options = {**model.task.options, "saturation": saturation}
    get_task(model.task.name, **options)  # checked: a possible value, one line if not
    model.task.options["saturation"] = float(saturation)


def stride_of(model: AutoEncoder) -> int:
    """Total down-sampling: sizes must be multiples of it."""
    return 2 ** (len(model.hparams.widths) - 1)


@torch.no_grad()
def predict_rgb(model: AutoEncoder, rgb: torch.Tensor) -> torch.Tensor:
    """RGB (N, 3, H, W) in [-1, 1], any H, W -> the model's RGB output, same size (superres: its
    factor times larger). Colour tasks see only the input's luminance and keep it: the output's YUV
    luma is the input's."""
    task = model.task
    x = task.input_from_picture(rgb)  # restoration tasks: the picture is the degraded one
    h, w = x.shape[-2:]
    s = stride_of(model)
    pad = (0, -w % s, 0, -h % s)
    mode = "reflect" if min(h, w) > s else "replicate"  # reflect needs more pixels than it pads
    out = model(F.pad(x, pad, mode=mode))[..., :h, :w]
    pred = task.to_rgb(x, out)
    if task.name == "reconstruct" or task.restores:
        return pred.clamp(-1, 1)
    return with_luma(task.colour.rgb_to_yuv(rgb)[:, :1], pred, task.colour)


def with_luma(luma: torch.Tensor, colour: torch.Tensor, maths: ColourMaths) -> torch.Tensor:
    """The YUV luma `luma` (N, 1, H, W) with the chroma of RGB `colour`, chroma scaled down per
    pixel just enough to stay inside [-1, 1]: the luma is kept exactly, the hue too."""
    uv = maths.rgb_to_yuv(colour)[:, 1:]
    offset = maths.yuv_to_rgb(torch.cat([torch.zeros_like(luma), uv], dim=1))  # RGB = luma + offset (linear)
    room = torch.where(offset > 0, (1 - luma) / offset, torch.where(offset < 0, (-1 - luma) / offset, torch.inf))
    return luma + room.amin(dim=1, keepdim=True).clamp(0, 1) * offset


def to_tensor(picture: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> (1, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(picture).permute(2, 0, 1)[None].float() / 127.5 - 1


def to_picture(rgb: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] -> uint8 (H, W, 3)."""
    return ((rgb.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()


def read_picture(path: Path) -> Picture:
    """A picture file as a viewer shows it (autoenc/data/pictures.py); a clear UserError for unreadable,
    malformed or huge files (Pillow's decompression-bomb guard stays on)."""
    from PIL import Image

    try:
        return read(path)
    except Image.DecompressionBombError as e:
        raise UserError(f"{path}: refused, too large ({e})") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise UserError(f"{path}: cannot read this picture ({e})") from None


def picture_files(root: Path) -> list[Path]:
    from autoenc.data.sources import PICTURE_SUFFIXES

    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PICTURE_SUFFIXES)


def run_on_files(
    model: AutoEncoder,
    jobs: list[tuple[Path, Path]],
    batch_size: int = 16,
    side_by_side: bool = False,
    progress: bool = True,
) -> tuple[int, list[str]]:
    """Each (input, output) pair: read, run, write (PNG, or the output's format; a picture's
    transparency goes back onto its output where the format keeps it). Pictures of one size go
    through in batches. Returns (written, messages): unreadable inputs (skipped) and notes."""
    from tqdm import tqdm

    messages, pictures = [], []
    for src, dst in jobs:
        try:
            picture = read_picture(src)
        except UserError as e:
            messages.append(f"skipped: {e}")
            continue
        pictures.append((dst, picture))
        messages += [f"note: {n}" for n in picture.notes]
    pictures.sort(key=lambda p: p[1].rgb.shape)
    device = next(model.parameters()).device
    written = 0
    with tqdm(total=len(pictures), unit="picture", disable=not progress) as bar:
        i = 0
        while i < len(pictures):
            same = [p for p in pictures[i : i + batch_size] if p[1].rgb.shape == pictures[i][1].rgb.shape]
            rgb = torch.cat([to_tensor(p.rgb) for _, p in same]).to(device)
            for (dst, picture), out in zip(same, predict_rgb(model, rgb), strict=True):
                write_picture(dst, to_picture(out), picture, side_by_side)
                written += 1
            bar.update(len(same))
            i += len(same)
    return written, messages


def write_picture(dst: Path, result: np.ndarray, picture: Picture, side_by_side: bool) -> None:
    """The result (beside its input if asked), with the input's alpha where the format keeps it."""
    from PIL import Image

    rgb, alpha = picture.rgb, picture.alpha
    if result.shape[:2] != rgb.shape[:2]:  # superres: the input (shown beside) and its alpha enlarged to fit
        size = (result.shape[1], result.shape[0])
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))
        alpha = None if alpha is None else np.asarray(Image.fromarray(alpha).resize(size, Image.Resampling.BILINEAR))
    if side_by_side:
        result = np.concatenate([rgb, result], axis=1)
        alpha = None if alpha is None else np.concatenate([alpha, alpha], axis=1)
    image = Image.fromarray(result)
    if alpha is not None and dst.suffix.lower() in KEEP_ALPHA:
        image.putalpha(Image.fromarray(alpha))
    dst.parent.mkdir(parents=True, exist_ok=True)
    image.save(dst)


def export_onnx(ckpt: str | Path, output: Path, opset: int = 17) -> dict[str, str]:
    """The checkpoint's network as ONNX (dynamic batch, height, width) with its task as metadata."""
    import warnings

    import onnx

    model, _ = load_checkpoint(ckpt)
    task, s = model.task, stride_of(model)
    meta = {
        "autoenc.task": task.name,
        "autoenc.stride": str(s),
        "autoenc.widths": str(list(model.hparams.widths)),
        "autoenc.kernel_size": str(model.hparams.kernel_size),
        "autoenc.block": model.hparams.block,
        "autoenc.scale": "input and output in task space, [-1, 1] scale (autoenc/model/tasks.py)",
        "autoenc.loss": f"{model.objective.name} {model.objective.extra_repr()}".strip(),
        "autoenc.decoding": f"included: {model.decoding() or 'the output as it is'}",
    }
    dims = {0: "batch", 2: "height", 3: "width"}
    output.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its deprecation
        x = torch.zeros(1, task.in_channels, 2 * s, 2 * s)
        torch.onnx.export(
            Predictor(model),
            (x,),
            str(output),
            dynamo=False,
            input_names=["input"],
            output_names=["output"],
            opset_version=opset,
            dynamic_axes={"input": dims, "output": dims},
        )
    graph = onnx.load(str(output))
    for key, value in meta.items():
        graph.metadata_props.add(key=key, value=value)
    onnx.save(graph, str(output))
    return meta


class Predictor(torch.nn.Module):
    """The network and its decoding (loss=classify: the annealed mean at the model's temperature; a
    colour task's saturation): what ONNX exports, task-space prediction from task-space input."""

    def __init__(self, model: AutoEncoder):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.decode(self.model.net(x))


def slim_checkpoint(
    src: str | Path, dst: str | Path, temperature: float | None = None, saturation: float | None = None
) -> None:
    """Keep what inference needs (weights, hyper-parameters, data config, history): a small file.
    temperature: a loss=classify model's decoding temperature from then on (its hyper-parameter);
    saturation: a colour task's chroma gain from then on (task.saturation)."""
    ckpt = torch.load(src, map_location="cpu", weights_only=True)
    hparams = ckpt["hyper_parameters"]
    if temperature is not None:
        set_temperature(load_checkpoint(src)[0], temperature)  # checked: a classify model, a possible T
        hparams["loss"]["temperature"] = temperature
    if saturation is not None:
        set_saturation(load_checkpoint(src)[0], saturation)  # checked: a colour task, a possible gain
        hparams["task_options"] = {**(hparams.get("task_options") or {}), "saturation": float(saturation)}
    keep = ("state_dict", "hyper_parameters", "datamodule_hyper_parameters", "history", "epoch", "global_step")
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: ckpt[k] for k in keep if k in ckpt}, dst)
