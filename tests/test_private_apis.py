"""Every private name of Lightning, torch and submitit that autoenc uses, pinned: an upgrade that
removes one fails here, naming it and the place in autoenc that needs it, instead of failing
somewhere in a training run."""

import importlib
import inspect

import pytest

PRIVATE = [  # (module, object in it, private attribute or None, where autoenc uses it and why)
    (
        "lightning.pytorch.core.module",
        "_jit_is_scripting",
        None,
        "autoenc/training/dashboard.py RunLogger.log_graph: traces the graph as Lightning's own log_graph does",
    ),
    (
        "lightning.pytorch.core.module",
        "LightningModule",
        "_apply_batch_transfer_handler",
        "autoenc/training/dashboard.py RunLogger.log_graph: the example input moved as Lightning moves batches",
    ),
    (
        "lightning.pytorch.core.module",
        "LightningModule",
        "_on_before_batch_transfer",
        "autoenc/training/dashboard.py RunLogger.log_graph: the example input moved as Lightning moves batches",
    ),
    (
        "torch.utils.tensorboard._pytorch_graph",
        "graph",
        None,
        "autoenc/training/dashboard.py RunLogger.log_graph: the traced graph, kept per network for a sweep's runs",
    ),
    (
        "torch.utils.tensorboard",
        "SummaryWriter",
        "_get_file_writer",
        "autoenc/training/dashboard.py: HPARAMS summaries and the graph written as protos",
    ),
    (
        "submitit.slurm.slurm",
        "SlurmInfoWatcher",
        "_make_command",
        "autoenc/scale/slurm.py follow_with_squeue: clusters without sacct followed with squeue",
    ),
]


@pytest.mark.parametrize("module, name, attribute, where", PRIVATE, ids=lambda v: v if isinstance(v, str) else "")
def test_each_private_name_autoenc_uses_is_there(module, name, attribute, where):
    if module.startswith("submitit"):
        pytest.importorskip("submitit")
    found = getattr(importlib.import_module(module), name, None)
    if attribute is not None and found is not None:
        found = getattr(found, attribute, None)
    assert found is not None, f"{module}.{name}{'.' + attribute if attribute else ''} is gone: {where}"


def test_the_state_torch_lightning_and_submitit_keep_where_autoenc_reads_it():
    import torch
    from lightning.pytorch.core.optimizer import LightningOptimizer
    from torch.nn.parallel import DistributedDataParallel

    # autoenc/training/module.py on_train_start: a replayed CUDA graph counts its step as .step() does
    wrapped = LightningOptimizer(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))
    for hook in ("_on_before_step", "_on_after_step"):
        assert callable(getattr(wrapped, hook, None)), f"Lightning's LightningOptimizer has no {hook} any more"

    # autoenc/training/module.py: the task's and loss's constant buffers left out of DDP's broadcasts
    source = inspect.getsource(DistributedDataParallel)
    assert "_ddp_params_and_buffers_to_ignore" in source, (
        "torch's DDP no longer reads _ddp_params_and_buffers_to_ignore"
    )
    submitit = pytest.importorskip("submitit.slurm.slurm")
    watcher = submitit.SlurmInfoWatcher(delay_s=60)
    # autoenc/scale/slurm.py SqueueInfoWatcher._make_command: the jobs it still follows
    assert isinstance(watcher._registered, set) and isinstance(watcher._finished, set), "submitit's watcher changed"
