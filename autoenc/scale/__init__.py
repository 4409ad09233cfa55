"""Scaling out: DDP inside a Hydra sweep, SLURM through Hydra's submitit launcher."""
