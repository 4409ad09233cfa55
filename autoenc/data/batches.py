"""Batches of a uint8 picture tensor: slices of a per-epoch permutation, no per-sample Python
work, no workers; and how many batches a limit leaves (trainer.limit_train_batches, counted in
batches also where the training step takes blocks of them: autoenc/speed/blocks.py)."""

import math

import torch

from autoenc import UserError


class Batches:
    """Batches of a uint8 (N, H, W, C) tensor, each one slice of a per-epoch permutation
    (shuffle) or of the data in order; no per-sample Python work, no workers. The tensor may
    live on the training device. With several processes (rank of world), each takes its own
    shard: when shuffling, equal shards of a permutation all ranks share (a remainder of fewer
    than `world` samples sits out that epoch); in order, every sample exactly once. With
    group > 1 each item is a tuple of up to `group` consecutive batches (one gather), which the
    training step takes in turn (speed.steps_per_call)."""

    def __init__(
        self,
        images: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        group: int = 1,
        limit: int | float = 1.0,
    ):
        self.images, self.batch_size, self.shuffle, self.seed = images, batch_size, shuffle, seed
        self.group, self.limit = max(1, int(group)), limit
        self.rank, self.world, self.epoch = rank, world, 0
        self.sampler, self.batch_sampler = self, None  # where Lightning looks for set_epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _size(self) -> int:
        n = len(self.images)
        return n // self.world if self.shuffle else len(range(self.rank, n, self.world))

    def num_batches(self) -> int:
        """Batches per epoch (of this process), after the limit: an int counts batches, a float
        is a fraction of them (Lightning's limit_train_batches, counted in batches, not blocks)."""
        return batches_within(math.ceil(self._size() / self.batch_size), self.limit)

    def __len__(self) -> int:
        return math.ceil(self.num_batches() / self.group)

    def __iter__(self):
        b = self.batch_size
        if self.group > 1:
            yield from (block.split(b) for block in self._slices(self.num_batches() * b, b * self.group))
            return
        yield from self._slices(self.num_batches() * b, b)

    def _slices(self, take: int, b: int):
        """Slices of up to b pictures, `take` pictures in all (the epoch's, after the limit)."""
        if not self.shuffle and self.world == 1:
            take = min(take, len(self.images))
            yield from (self.images[i : min(i + b, take)] for i in range(0, take, b))
            return
        if self.shuffle:
            order = torch.randperm(
                len(self.images), generator=torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            )
            order = order[self.rank : self._size() * self.world : self.world]
        else:
            order = torch.arange(self.rank, len(self.images), self.world)
        order = order[:take].to(self.images.device)
        yield from (self.images[order[i : i + b]] for i in range(0, len(order), b))


def batches_within(batches: int, limit: int | float) -> int:
    """How many of `batches` a limit leaves: an int is a count, a float a fraction (as Lightning
    reads trainer.limit_train_batches); at least one batch, where there is one."""
    if (
        isinstance(limit, bool)
        or not isinstance(limit, (int, float))
        or limit <= 0
        or (isinstance(limit, float) and limit > 1)
    ):
        raise UserError(
            f"trainer.limit_train_batches={limit}: must be a number of batches (a positive integer) "
            "or a fraction in (0, 1]"
        )
    kept = min(batches, limit) if isinstance(limit, int) else int(batches * limit)
    return max(kept, min(batches, 1))
