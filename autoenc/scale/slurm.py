"""SLURM through Hydra's submitit launcher (conf/hydra/launcher/slurm.yaml), made to fail fast
and say why: the request is checked against the partition's nodes before anything is submitted,
sbatch's refusal is one line, and clusters without accounting (no sacct) are followed with
squeue instead of a warning on every poll. Also the resolvers the launcher config uses.

    python train.py -m hydra/launcher=slurm hydra.launcher.partition=<p> experiment=table
"""

import shutil
import subprocess

from omegaconf import OmegaConf


def gpus_for(accelerator: str, partition: str | None = None) -> int:
    """GPUs a job asks for: the trainer's accelerator decides; 'auto' asks for one where the
    partition's nodes have GPUs (sinfo's GRES), none on a CPU-only cluster."""
    if str(accelerator) in ("gpu", "cuda"):
        return 1
    if str(accelerator) != "auto":
        return 0
    return 1 if any("gpu" in node["gres"] for node in partition_nodes(partition)) else 0


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("slurm_gpus"):
        OmegaConf.register_new_resolver("slurm_gpus", gpus_for)
        OmegaConf.register_new_resolver("slurm_cpus", lambda threads: int(threads) if threads else 2)


def partition_nodes(partition: str | None) -> list[dict]:
    """The CPUs, memory (MB) and GRES of each node of the partition (the default one if None);
    [] where sinfo does not answer."""
    if shutil.which("sinfo") is None:
        return []
    command = ["sinfo", "-h", "-N", "-o", "%c|%m|%G"] + (["-p", partition] if partition else [])
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return []
    nodes = []
    for line in out.splitlines():
        cpus, mem, gres = (line.split("|") + ["", "", ""])[:3]
        if cpus.strip().isdigit():
            gres = "" if gres.strip() in ("(null)", "N/A") else gres.strip()
            nodes.append({"cpus": int(cpus), "mem_mb": int(mem.rstrip("+") or 0), "gres": gres})
    return nodes


def unschedulable(params: dict) -> str | None:
    """Why no node of the partition can ever run a job of these parameters, or None."""
    nodes = partition_nodes(params.get("partition"))
    if not nodes:
        return None  # cannot tell: let SLURM judge
    cpus = (params.get("cpus_per_task") or 1) * (params.get("tasks_per_node") or 1)
    mem_mb = (params.get("mem_gb") or 0) * 1024
    gpus = params.get("gpus_per_node") or 0
    fits = [n for n in nodes if n["cpus"] >= cpus and n["mem_mb"] >= mem_mb and (not gpus or "gpu" in n["gres"])]
    if fits:
        return None
    biggest = max(nodes, key=lambda n: (n["cpus"], n["mem_mb"]))
    where = f"partition {params['partition']}" if params.get("partition") else "the default partition"
    return (
        f"each SLURM job asks for {cpus} CPUs, {mem_mb // 1024} GB and {gpus} GPU(s) a node, but no node of {where} "
        f"has that (the largest: {biggest['cpus']} CPUs, {biggest['mem_mb'] // 1024} GB, GRES "
        f"{biggest['gres'] or 'none'}): lower hydra.launcher.cpus_per_task / mem_gb / gpus_per_node, or pick "
        "another hydra.launcher.partition"
    )


def sacct_works() -> bool:
    try:
        return subprocess.run(["sacct", "-n", "-X", "-j", "1"], capture_output=True, timeout=30).returncode == 0
    except (subprocess.SubprocessError, OSError):
        return False


# squeue's final states; any other it shows (SIGNALING at the time-limit signal, COMPLETING and
# PENDING across a requeue, CONFIGURING at a start, holds) is a job still under way
FINAL_STATES = {"BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY", "TIMEOUT"}


def follow_with_squeue():
    """Clusters without accounting: submitit follows its jobs with squeue (which lists finished
    jobs for MinJobAge, 5 minutes by default) instead of failing sacct on every poll. A job counts
    as finished in a final state only: submitit's own list takes the flags squeue shows for a
    moment (SIGNALING, CONFIGURING) for an end, then fails the sweep for want of a result.
    Returns the watcher now in use."""
    from submitit.slurm import slurm

    class SqueueInfoWatcher(slurm.SlurmInfoWatcher):
        def _make_command(self) -> list[str] | None:
            ids = {x.split("_")[0] for x in self._registered - self._finished}
            return ["squeue", "-h", "--states=all", "-o", "%i|%T|%N", "-j", ",".join(sorted(ids))] if ids else None

        def read_info(self, string) -> dict:
            text = string.decode() if isinstance(string, bytes) else string
            return super().read_info("JobID|State|NodeList\n" + text)

        def is_done(self, job_id: str, mode: str = "standard") -> bool:
            return self.get_state(job_id, mode=mode).split(" ")[0].upper() in FINAL_STATES

    slurm.SlurmJob.watcher = SqueueInfoWatcher(delay_s=60)
    return slurm.SlurmJob.watcher
