"""Hydra's submitit SLURM launcher, checked first (conf/hydra/launcher/slurm.yaml's _target_):
a request no node can meet stops at once, sbatch's refusal is one line, and clusters without
accounting are followed with squeue. Hydra takes launchers from the hydra_plugins package
only, hence this file here; the logic is in autoenc/scale/slurm.py. Needs the `scale` extra."""

import contextlib
import io
import subprocess
import sys
from unittest import mock

try:
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher
    from submitit.core.utils import FailedJobError, FailedSubmissionError
except ImportError:  # pip install autoenc[scale] brings hydra-submitit-launcher
    SlurmLauncher = None

from autoenc.scale.slurm import follow_with_squeue, sacct_works, unschedulable

if SlurmLauncher is not None:

    class CheckedSlurmLauncher(SlurmLauncher):
        def launch(self, job_overrides, initial_job_idx):
            import submitit

            if why := unschedulable(self.params):
                sys.exit(f"error: {why}")
            if not sacct_works():
                follow_with_squeue()
            submit = submitit.AutoExecutor.map_array

            def submit_quietly(executor, *args, **kwargs):  # sbatch's complaints: kept for one line
                with contextlib.redirect_stderr(io.StringIO()) as said:
                    try:
                        return submit(executor, *args, **kwargs)
                    except (FailedJobError, FailedSubmissionError, subprocess.CalledProcessError) as e:
                        sys.exit(f"error: sbatch refused the sweep's jobs: {refusal(e, said.getvalue())}")

            with mock.patch.object(submitit.AutoExecutor, "map_array", submit_quietly):
                return super().launch(job_overrides, initial_job_idx)


def refusal(e: Exception, stderr: str = "") -> str:
    """sbatch's own words: its last line that says error, else its last line."""
    detail = getattr(e, "stderr", None) or getattr(e, "output", None) or ""
    detail = detail.decode() if isinstance(detail, bytes) else str(detail)
    detail = "\n".join([stderr, detail, str(e)])
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or [type(e).__name__])[-1]
