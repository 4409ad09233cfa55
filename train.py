"""Train one convolutional autoencoder; Hydra composes the config from conf/.

python train.py                                    # classic arch, reconstruct, CIFAR-10
python train.py arch=32-48-64_double task=y2uv
python train.py dataset=photos trainer.max_epochs=3   # offline, about a minute on CPU
python train.py dataset=images dataset.root=/some/folder/of/pictures
python train.py -m arch=classic,4-6-8 seed=0,1,2      # a sweep
python train.py -m experiment=table                # the study's whole table (then scripts/make_table.py)
python train.py --help                             # the config groups and options
"""

import os
import sys
import traceback
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from autoenc.runs.record import short_hash
from autoenc.scale.ddp import child_argv
from autoenc.scale.slurm import register_resolvers as register_slurm_resolvers

# A run's folder is named after its overrides, so the same command finds its own earlier run
# (to resume it, or to see it finished): conf/config.yaml hydra.run.dir
OmegaConf.register_new_resolver("short_hash", short_hash)
register_slurm_resolvers()  # conf/hydra/launcher/slurm.yaml: GPUs and CPUs a job asks for


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    from hydra.core.hydra_config import HydraConfig  # imported here so that --help stays fast
    from hydra.types import RunMode

    from autoenc import OtherRunsFolder, UserError
    from autoenc.runs.record import holds_another_run, save_hydra_config
    from autoenc.training.config import read_config

    try:
        spec = read_config(cfg)  # a bad number answers before Lightning's import
        from autoenc.training.fit import train

        return train(cfg, spec)["best_val_mse"]
    except OtherRunsFolder as e:  # another run's folder: touch nothing of it
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise
        sys.exit(f"error: {e}")
    except Exception as e:
        # failed.txt says why, for make_table and for the person reading the run's folder; but a bad
        # number aimed at another config's run folder (hydra.run.dir=...) leaves that folder as it is
        out = Path(cfg.output_dir)
        if not holds_another_run(out, cfg):
            if out.is_dir() and not (out / ".hydra").is_dir():
                save_hydra_config(out, cfg)  # it failed before train() recorded it: make_table lists it by it
            (out / "failed.txt").write_text(str(e) if isinstance(e, UserError) else traceback.format_exc())
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise  # Hydra finishes the other jobs of the sweep, then reports this one
        if isinstance(e, UserError):
            sys.exit(f"error: {e}")
        raise


if __name__ == "__main__":
    sys.argv = child_argv(sys.argv, os.environ)  # a DDP process of one run of a sweep: that run only
    main()
