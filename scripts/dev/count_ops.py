"""Count what one training step of each arch x task issues (docs/gpu.md's model of the table on a GPU):
the operators torch dispatches and the kernels they become on the CPU (torch.profiler), the FLOPs
(torch.utils.flop_counter) and the host's dispatch time per operator, measured on pictures so small
that the arithmetic costs nothing.

    python scripts/dev/count_ops.py [--out docs/gpu_ops_<date>.json]
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from autoenc import CONF
from autoenc.model.tasks import to_unit_rgb
from autoenc.speed.settings import cpu_name
from autoenc.training.config import read_config
from autoenc.training.fit import build_model
from autoenc.training.schedule import optimizers_for

# operators that launch no kernel on a GPU: views, metadata, allocation
NO_KERNEL = {
    "empty",
    "empty_strided",
    "empty_like",
    "view",
    "_unsafe_view",
    "reshape",
    "_reshape_alias",
    "as_strided",
    "expand",
    "permute",
    "transpose",
    "t",
    "unsqueeze",
    "squeeze",
    "slice",
    "select",
    "detach",
    "alias",
    "resolve_conj",
    "resolve_neg",
    "lift_fresh",
    "set_",
    "contiguous",
    "result_type",
    "is_nonzero",
    "size",
    "stride",
    "flatten",
    "unbind",
    "split",
    "narrow",
    "_to_copy_view",
    "unflatten",
}
ARCHS = ["classic", "4-6-8", "16-24-32", "16-24-32_k5", "32-48-64_single", "32-48-64_double"]
TASKS = ["reconstruct", "gray2rgb", "y2uv", "l2ab"]


def model_and_step(arch: str, task: str):
    """The table's model of this cell (fp32, NCHW as on a GPU) and one optimizer step on a uint8 batch,
    the operations of AutoEncoder._step (training_step adds a sum and a finiteness check a batch)."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                f"arch={arch}",
                f"task={task}",
                "output_dir=/tmp/count_ops",
                "trainer.accelerator=cpu",
                "trainer.precision=32-true",
                "speed.channels_last=false",
            ],
        )
    model = build_model(read_config(cfg))
    fused = {**model.hparams.optimizer, "fused": True}  # as on a CUDA device (schedule.on_the_device)
    optimizer = optimizers_for(model.parameters(), fused, model.schedule, lambda: (1, 1))

    def step(batch: torch.Tensor) -> torch.Tensor:
        x, y = model.task.split(to_unit_rgb(batch, channels_last=False), fixed=False)
        loss = model.objective(model.net(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return model, step


def count(arch: str, task: str, batch: int = 64) -> dict:
    model, step = model_and_step(arch, task)
    pictures = torch.randint(0, 256, (batch, 32, 32, 3), dtype=torch.uint8)
    for _ in range(3):
        step(pictures)  # Adam's state made: the steady step
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step(pictures)
    ops = [e for e in prof.events() if e.name.startswith("aten::")]  # each one a trip through the dispatcher
    leaves = [e for e in ops if not e.cpu_children and e.name.split("::")[1] not in NO_KERNEL]
    with FlopCounterMode(display=False) as flops:
        step(pictures)
    tiny = torch.randint(0, 256, (1, 8, 8, 3), dtype=torch.uint8)  # arithmetic ~free: the host's cost
    times = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(20):
            step(tiny)
        times.append((time.perf_counter() - start) / 20)
    seconds = statistics.median(times)
    params = sum(p.numel() for p in model.net.parameters())
    return {
        "arch": arch,
        "task": task,
        "params": params,
        "ops": len(ops),
        "kernels": len(leaves),
        "flops": flops.get_total_flops(),
        "host_step_s": seconds,
        "host_s_per_op": seconds / len(ops),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(f"docs/gpu_ops_{time.strftime('%Y-%m-%d')}.json"))
    args = parser.parse_args()
    torch.manual_seed(0)
    cells = [count(arch, task) for arch in ARCHS for task in TASKS]
    record = {
        "command": "python scripts/dev/count_ops.py",
        "host": f"{cpu_name()}, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "batch": 64,
        "cells": cells,
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    for c in cells:
        print(
            f"{c['arch']:16} {c['task']:12} ops {c['ops']:4d} kernels {c['kernels']:4d} "
            f"GFLOP {c['flops'] / 1e9:6.2f} host {c['host_step_s'] * 1e3:6.2f} ms"
        )


if __name__ == "__main__":
    main()
