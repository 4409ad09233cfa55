"""Rename the run folders of a sweep made before runs were named after their overrides
(`<job number>_<arch>_<task>_s<seed>`, or lr_study's `..._lr<lr>_ep<epochs>_s<seed>`) to today's
names (`<arch>_<task>_s<seed>_<hash of the overrides>`, conf/config.yaml hydra.sweep.subdir), so
that running the sweep's command again into it finds every finished run instead of training it anew.

    python scripts/rename_sweep.py outputs/multirun/<sweep> [--dry-run]

The new name comes from what each run recorded (.hydra/config.yaml, .hydra/hydra.yaml); a folder
that already has its name, or lacks the record, is left as it is; nothing is overwritten.
"""

import argparse
import sys
from pathlib import Path

from omegaconf import OmegaConf

from autoenc.runs.record import short_hash


def new_name(run: Path) -> str | None:
    config, hydra = run / ".hydra" / "config.yaml", run / ".hydra" / "hydra.yaml"
    if not (config.is_file() and hydra.is_file()):
        return None
    cfg, job = OmegaConf.load(config), OmegaConf.load(hydra).hydra.job
    return f"{cfg.arch.name}_{cfg.task.name}_s{cfg.seed}_{short_hash(job.override_dirname)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep", type=Path)
    parser.add_argument("--dry-run", action="store_true", help="say what would be renamed, rename nothing")
    args = parser.parse_args(argv)
    if not args.sweep.is_dir():
        raise SystemExit(f"error: {args.sweep} is not a folder")
    renamed = 0
    for run in sorted(p for p in args.sweep.iterdir() if p.is_dir()):
        name = new_name(run)
        if name is None or name == run.name:
            continue
        if (args.sweep / name).exists():
            print(f"skipped {run.name}: {name} exists already")
            continue
        print(f"{run.name} -> {name}")
        if not args.dry_run:
            run.rename(args.sweep / name)
            renamed += 1
    print(f"{renamed} folder(s) renamed" + (" (dry run: none)" if args.dry_run else ""))
    return 0


def run() -> None:
    """The console script autoenc-rename-sweep."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    run()
