"""The progress bar of a run whose training steps take blocks of batches (autoenc/speed/blocks.py)."""

from lightning.pytorch.callbacks import TQDMProgressBar


class BatchProgressBar(TQDMProgressBar):
    """Lightning's progress bar, redrawn every `every` batches, its training bar counting
    batches where each call takes a block of them."""

    def __init__(self, every: int, steps_per_call: int):
        super().__init__(refresh_rate=max(1, every))  # validation and test: every `every` batches
        self.every, self.steps_per_call = max(1, every), steps_per_call

    @property
    def total_train_batches(self) -> int:
        return self.trainer.train_dataloader.num_batches()  # autoenc's Batches: after the limit, in batches

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        bar = self.train_progress_bar
        if bar is None or bar.disable or not self.is_enabled:
            return
        done = min((batch_idx + 1) * self.steps_per_call, bar.total)
        if done // self.every > bar.n // self.every or done == bar.total:
            bar.n = done
            bar.refresh()
            bar.set_postfix(self.get_metrics(trainer, pl_module))
