"""Re-test a trained checkpoint on any dataset and split; writes metrics.json like training.

python eval.py ckpt_path=outputs/runs/<run>/checkpoints/best.ckpt           # its own test split
python eval.py ckpt_path=... dataset=images dataset.root=/my/pictures split=test
"""

import sys

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="eval")
def main(cfg: DictConfig) -> float:
    from autoenc import UserError
    from autoenc.inference.evaluate import evaluate

    try:
        return evaluate(cfg)["test_mse"]
    except UserError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
