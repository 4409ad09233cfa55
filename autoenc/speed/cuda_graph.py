"""speed.cuda_graph: the training step of one batch (uint8 batch -> [-1, 1] -> task split ->
forward -> MSE -> backward -> optimizer step) recorded once as a CUDA graph and replayed for
every later batch of the same shape: one launch per step instead of ~100 kernels issued from
Python. These nets are so small that a GPU otherwise waits on Python and kernel launches.

torch's "whole network capture" recipe: a few eager steps on a side stream first (cuDNN and
cuBLAS set-up, the optimizer's state), then capture; the optimizer must be `capturable`
(its step counter on the GPU). Every batch gets exactly one update, as without the graph: the
warm-up steps are real steps, and the captured batch is stepped by replaying the graph once.
"""

import inspect
from collections.abc import Callable

import torch

from autoenc import UserError

WARMUP_STEPS = 3
MODES = ("false", "true", "auto")


def wanted(setting, accelerator: str, precision: str, single_device: bool = True) -> bool:
    """speed.cuda_graph (false / true / auto) -> whether this run captures its step. auto: on one
    CUDA device with bf16 or fp32; true where that is impossible is an error, before anything is
    trained. single_device: the run's strategy is Lightning's single-device one (DDP wraps the
    model and syncs its gradients with collectives a graph of one process must not hold)."""
    mode = str(setting).lower()
    if mode not in MODES:
        raise UserError(f"speed.cuda_graph={setting!r}: must be one of {', '.join(MODES)}")
    if mode == "false":
        return False
    why_not = None
    if accelerator not in ("gpu", "cuda", "auto") or not torch.cuda.is_available():
        why_not = "it needs a CUDA GPU (trainer.accelerator=gpu)"
    elif str(precision).startswith("16"):
        why_not = "fp16 training checks its gradient scale on the host every step; use trainer.precision=bf16-mixed"
    elif not single_device:
        why_not = "it runs on one device with Lightning's single-device strategy, not under DDP (trainer=ddp)"
    if why_not and mode == "true":
        raise UserError(f"speed.cuda_graph=true: {why_not}")
    return why_not is None


def set_capturable(optimizer: torch.optim.Optimizer, on: bool) -> None:
    """on: the optimizer's step counters on the GPU, so its step can be captured (Adam, AdamW,
    ...; optimizers without the setting, e.g. SGD, capture as they are), also when a checkpoint
    of a run without graphs brought them back on the CPU. off: the counters back on the CPU, where
    a step without graphs reads them with no sync (torch refuses capturable steps on the CPU, and
    a counter left on the GPU would sync every step)."""
    if "capturable" not in inspect.signature(type(optimizer).__init__).parameters:
        return
    for group in optimizer.param_groups:
        group["capturable"] = on
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if torch.is_tensor(state.get("step")) and not group.get("fused"):  # fused steps keep theirs on the GPU
                state["step"] = state["step"].to(p.device if on else "cpu", torch.float32)


class GraphedStep:
    """Calls step(batch) -> loss: eagerly for the first WARMUP_STEPS batches, then captures it
    for the next full batch (batch_size pictures: a short last batch is never the one captured)
    and replays the graph for every batch of that shape; a batch of another shape runs eagerly.
    After each replay count_step() is called: the bookkeeping (Lightning's step counter) the
    eager step does in Python."""

    def __init__(self, step: Callable[[torch.Tensor], torch.Tensor], count_step: Callable[[], None], batch_size: int):
        self.step, self.count_step, self.batch_size = step, count_step, batch_size
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static_batch = self.static_loss = None
        self.eager_steps = 0
        self.side = torch.cuda.Stream()  # warm-up and capture on one stream: library handles set up before capture

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        if self.graph is not None and batch.shape == self.static_batch.shape:
            self.static_batch.copy_(batch)
            self.graph.replay()
            self.count_step()
            return self.static_loss.clone()  # the next replay overwrites the static one
        if self.graph is None and self.eager_steps >= WARMUP_STEPS and len(batch) == self.batch_size:
            return self._capture(batch)
        return self._eager(batch)

    def _eager(self, batch: torch.Tensor) -> torch.Tensor:
        self.eager_steps += 1
        if self.graph is not None:  # after capture: an odd-shaped batch on the usual stream
            return self.step(batch)
        self.side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.side):
            loss = self.step(batch)
        torch.cuda.current_stream().wait_stream(self.side)
        return loss

    def _capture(self, batch: torch.Tensor) -> torch.Tensor:
        self.static_batch = batch.clone()
        graph = torch.cuda.CUDAGraph()
        # records, runs nothing; the step's Python bookkeeping (Lightning's step count) runs once, here
        with torch.cuda.graph(graph, stream=self.side):
            self.static_loss = self.step(self.static_batch)
        self.graph = graph
        graph.replay()  # this batch's update
        return self.static_loss.clone()
