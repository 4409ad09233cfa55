"""Rename the run folders of a sweep made before runs were named after their overrides.

The command lives in autoenc/cli/rename_sweep.py; installed, it is also `autoenc-rename-sweep`.
"""

from autoenc.cli.rename_sweep import run

if __name__ == "__main__":
    run()
