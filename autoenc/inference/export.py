"""A trained network as ONNX: dynamic batch, height and width, its decoding included, its task as metadata."""

from pathlib import Path

import torch

from autoenc.inference.checkpoints import load_checkpoint
from autoenc.inference.predict import stride_of
from autoenc.training.module import AutoEncoder


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
        "autoenc.skips": str(bool(model.hparams.get("skips"))).lower(),
        "autoenc.residual": str(bool(model.hparams.get("residual"))).lower(),
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
