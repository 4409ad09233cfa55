"""Run-folder bookkeeping: one process per folder (a lock), the config beside the results,
atomic writes, and what an earlier run left there (a finished result, or a checkpoint to resume
from; a damaged checkpoint is set aside, never deleted)."""

import errno
import fcntl
import json
import os
import pickle
import socket
import time
import zipfile
from pathlib import Path

import torch
from lightning.fabric.plugins import TorchCheckpointIO

from autoenc import OtherRunsFolder, UserError

LOCK_NAME = ".lock"


class RunInProgress(OtherRunsFolder):
    """Another process trains in this run folder: nothing here may be touched."""


def write_failure(path: Path, what: str, e: OSError | RuntimeError) -> UserError:
    reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e).splitlines()[0]
    return UserError(f"could not write {what} {path}: {reason}")


def write_json(path: Path, data: dict) -> None:
    """Write then rename, so a reader never sees a half-written file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise write_failure(path, "the result", e) from None


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written beside their final name, then renamed: a kill or a full disk never
    leaves a truncated best.ckpt or last.ckpt; a failed write stops the run in one line."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(checkpoint, tmp)  # a full disk: OSError, or torch's RuntimeError "file write failed"
            os.replace(tmp, path)
        except (OSError, RuntimeError) as e:
            tmp.unlink(missing_ok=True)
            raise write_failure(path, "checkpoint", e) from None


def is_rank_zero() -> bool:
    """False in the extra processes of a DDP or multi-task SLURM run: they share rank 0's folder."""
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


class RunLock:
    """An exclusive flock on <run>/.lock, held while a run trains there. The file names its holder
    (pid, host, start); the kernel drops the lock when the holder dies, so a lock whose file still
    names a holder but can be taken was left by a killed run: it is taken over, with a line."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK_NAME
        self.file = None

    def __enter__(self) -> "RunLock":
        try:
            self.file = open(self.path, "a+")  # noqa: SIM115 (held open while the run lasts)
        except OSError as e:
            raise UserError(f"cannot write to the output dir {self.path.parent}: {e.strerror or e}") from None
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = self._holder()
            self.file.close()
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise UserError(f"cannot lock the output dir {self.path.parent}: {e.strerror or e}") from None
            raise RunInProgress(
                f"{self.path.parent} is in use: a run is in progress there ({holder}). Wait for it to finish, or "
                "stop that process; run this command again after that to resume or report it"
            ) from None
        if stale := self._holder():
            print(f"autoenc: taking over a stale lock in {self.path.parent} ({stale}, no longer running)")
        self.file.seek(0)
        self.file.truncate()
        self.file.write(f"pid {os.getpid()} on host {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        self.file.flush()
        return self

    def _holder(self) -> str:
        self.file.seek(0)
        return self.file.read().strip()

    def __exit__(self, *exc) -> None:
        self.file.seek(0)
        self.file.truncate()  # an empty lock file: left by a run that ended, not by a killed one
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def link_job_logs(out: Path) -> None:
    """In a SLURM job started by submitit: links in the run folder to the job's stdout and
    stderr (kept in the sweep's .submitit/ folder), so a run's log is found from the run."""
    try:
        import submitit

        job = submitit.JobEnvironment()
        paths = {"out": job.paths.stdout, "err": job.paths.stderr}
    except (ImportError, RuntimeError):
        return  # not a submitit job
    for stream, path in paths.items():
        link = out / f"slurm-{job.job_id}.{stream}"
        if not link.is_symlink():
            link.symlink_to(Path(path).resolve())


def set_aside(path: Path) -> Path:
    """Rename a file out of the way, keeping it: <name>.damaged-<time>."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y-%m-%d_%H-%M-%S')}")
    os.replace(path, aside)
    return aside


class DamagedCheckpoint(Exception):
    pass


def read_checkpoint(path: Path) -> dict:
    """torch.load(weights_only=True), telling a damaged file (truncated, not a zip, unreadable)
    from a refused one (pickled code): the first raises DamagedCheckpoint, the second UserError."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise UserError(
            f"checkpoint {path} holds objects other than tensors and plain values; refused to load it "
            f"(it may run code): {str(e).splitlines()[0]}"
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as e:
        raise DamagedCheckpoint(str(e).split(". ")[0].splitlines()[0] if str(e) else type(e).__name__) from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise DamagedCheckpoint("no state_dict in it")
    return ckpt


def previous_state(out: Path, retrain: bool, ckpt_path: str | None) -> tuple[dict | None, str | None]:
    """(finished metrics, checkpoint to resume from) of an earlier run in this output dir.
    ckpt_path=... resumes from that file; retrain=true sets earlier results aside."""
    metrics = out / "metrics.json"
    if retrain:
        return None, ckpt_path  # train() set the earlier run aside (set_aside_earlier_run)
    if ckpt_path:
        if not Path(ckpt_path).is_file():
            raise UserError(f"ckpt_path={ckpt_path}: no such checkpoint")
        return None, str(ckpt_path)
    if metrics.is_file():
        return json.loads(metrics.read_text()), None
    return None, newest_intact_checkpoint(out / "checkpoints")


def set_aside_earlier_run(out: Path) -> None:
    """retrain=true: an earlier run's results, checkpoints, record and TensorBoard events move to
    replaced_<time>/ (kept whole, never deleted), so the new run starts in a clean folder."""
    parts = [out / name for name in ("metrics.json", "checkpoints", ".hydra", "tb", "failed.txt")]
    if not ((out / "metrics.json").exists() or (out / "checkpoints").exists()):
        return
    aside = out / f"replaced_{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    aside.mkdir()
    for p in parts:
        if p.exists():
            os.replace(p, aside / p.name)
    print(f"autoenc: retrain=true: earlier results moved to {aside}")


def newest_intact_checkpoint(folder: Path) -> str | None:
    """last.ckpt, or best.ckpt (an earlier epoch) where last.ckpt is damaged; a damaged file is
    renamed out of the way (kept, never deleted) and the choice said in one line."""
    damaged = []
    for name in ("last.ckpt", "best.ckpt"):
        path = folder / name
        if not path.is_file():
            continue
        try:
            epoch = read_checkpoint(path).get("epoch", -1) + 1  # Lightning counts from 0
        except DamagedCheckpoint as e:
            damaged.append(f"{name} is damaged ({e}): set aside as {set_aside(path).name}")
            continue
        if damaged:
            print(f"autoenc: {'; '.join(damaged)}; resuming from {name} (after epoch {epoch})")
        return str(path)
    if damaged:
        print(f"autoenc: {'; '.join(damaged)}; no intact checkpoint left: training from the start")
    return None


def check_fits(model: torch.nn.Module, path: str) -> int:
    """A checkpoint to resume from must be intact and hold this very network (loaded safely,
    weights_only). Returns its global step."""
    try:
        ckpt = read_checkpoint(Path(path))
    except DamagedCheckpoint as e:
        raise UserError(f"checkpoint {path} is damaged ({e}): resume from another one, or train anew") from None
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as e:
        raise UserError(
            f"checkpoint {path} does not fit arch {list(model.hparams.widths)} k{model.hparams.kernel_size} "
            f"{model.hparams.block}, task {model.task.name}: {str(e).splitlines()[0]}"
        ) from None
    return int(ckpt.get("global_step", 0))


def prepare_output_dir(path: str) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot write to the output dir {out}: {e.strerror or e}") from None
    return out
