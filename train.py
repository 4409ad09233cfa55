"""Train one convolutional autoencoder; Hydra composes the config from conf/.

python train.py                                    # classic arch, reconstruct, CIFAR-10
python train.py arch=32-48-64_double task=y2uv
python train.py dataset=photos trainer.max_epochs=3   # offline, about a minute on CPU
python train.py dataset=images dataset.root=/some/folder/of/pictures
python train.py -m arch=classic,4-6-8 seed=0,1,2      # a sweep
python train.py --help                             # the config groups and options
"""

import sys

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    from autoenc import UserError  # imported here so that --help stays fast
    from autoenc.train import train

    try:
        return train(cfg)["best_val_mse"]
    except UserError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
