"""A task's fixed per-picture work done once for the whole training split (on a GPU: speed, the
same numbers): the pictures as [-1, 1] floats and, for a colour task, its input and target
channels side by side; a training batch is then a slice of them. Restoration tasks keep their
fresh noise and holes: only the conversion to floats is done once."""

import torch

from autoenc.model.tasks import Task, to_unit_rgb


@torch.no_grad()
def prepare_pictures(task: Task, images: torch.Tensor, channels_last: bool, chunk: int = 4096) -> torch.Tensor:
    """uint8 (N, H, W, 3) pictures -> float (N, C, H, W): RGB in [-1, 1], or a colour task's input and target."""
    parts = []
    for part in images.split(chunk):
        rgb = to_unit_rgb(part, channels_last)
        parts.append(torch.cat(task.split(rgb), dim=1) if task.colours else rgb)
    return torch.cat(parts)


def training_pair(task: Task, batch: torch.Tensor, channels_last: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(network input, target) of a training batch: uint8 pictures, or prepare_pictures' floats."""
    if batch.dtype == torch.uint8:
        return task.split(to_unit_rgb(batch, channels_last), fixed=False)
    if task.colours:
        return batch[:, : task.in_channels], batch[:, task.in_channels :]
    return task.split(batch, fixed=False)  # restoration: fresh noise and holes every step
