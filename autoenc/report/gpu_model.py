"""docs/gpu.md's model of the study's table on one H200: the predicted wall time of its 72 runs for
each way of running them, from the numbers scripts/dev/count_ops.py counted on the CPU and what
it must assume of a GPU (stated beside the prediction)."""

import json
from pathlib import Path

# docs/gpu.md's model of the study's table on one H200: what it assumes beside the counted numbers
GPU_ASSUMED = {
    "kernel_s": 4e-6,  # a tiny kernel launched eagerly: its launch and its run, back to back
    "node_s": 1.5e-6,  # the same kernel as a node of a replayed CUDA graph
    "graph_host_s": 40e-6,  # the host's part of one replayed step: the Python around it and the launch
    "flop_s": 20e12,  # what these small convolutions reach of the H200 (a small share of its peak)
    "host_cores": 16,  # the device machine's CPU cores: processes beyond them gain nothing
    "mps_overlap": 4,  # kernels of different processes that run at once under MPS (small grids)
}
TABLE_STEPS = 3 * 15 * 750  # a cell: 3 seeds x 15 epochs x 48,000 / 64 steps


def gpu_options(cells: list[dict]) -> dict[str, float]:
    """Predicted seconds for all 72 runs (24 cells) under each option, from each cell's counted ops,
    kernels and FLOPs a step, the host's measured seconds an operator, and GPU_ASSUMED."""
    a = GPU_ASSUMED
    host = sum(c["host_step_s"] * TABLE_STEPS for c in cells)
    flops = sum(c["flops"] * TABLE_STEPS for c in cells) / a["flop_s"]
    eager_gpu = sum(c["kernels"] * TABLE_STEPS for c in cells) * a["kernel_s"] + flops
    graph_gpu = sum(c["kernels"] * TABLE_STEPS for c in cells) * a["node_s"] + flops
    graph_host = 24 * TABLE_STEPS * a["graph_host_s"]
    stacked = sum(c["kernels"] * TABLE_STEPS / 3 for c in cells) * a["node_s"] + flops  # 3 seeds as one model
    return {
        "eager, one process": max(host, eager_gpu),
        "eager, 4 processes (no MPS)": max(host / 4, eager_gpu),
        "eager, 16 processes, MPS": max(host / a["host_cores"], eager_gpu / a["mps_overlap"]),
        "CUDA graphs, one process": max(graph_host, graph_gpu),
        "CUDA graphs, 4 processes, MPS": max(graph_host / 4, graph_gpu / a["mps_overlap"]),
        "CUDA graphs, 3 seeds stacked as one model, 4 processes, MPS": max(graph_host / 12, stacked / a["mps_overlap"]),
    }


def gpu_model(record: str) -> str:
    """The counted numbers of each cell and the predicted wall time of the 72 runs per option."""
    d = json.loads(Path(record).read_text())
    cells = d["cells"]
    lines = [
        f"Counted on {d['host']}, torch {d['torch']}, batch {d['batch']} (`{d['command']}`):",
        "",
        "| arch | task | params | operators | kernels | MFLOP a step | host ms a step |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    lines += [
        f"| {c['arch']} | {c['task']} | {c['params']:,} | {c['ops']} | {c['kernels']} | {c['flops'] / 1e6:,.0f} | "
        f"{c['host_step_s'] * 1e3:.2f} |"
        for c in cells
    ]
    lines += ["", "| option for the 72 runs (810,000 steps) | predicted wall time |", "|---|--:|"]
    lines += [f"| {name} | {seconds / 60:.1f} min |" for name, seconds in gpu_options(cells).items()]
    assumed = ", ".join(f"{k} {v:g}" for k, v in GPU_ASSUMED.items())
    return "\n".join(lines + ["", f"Assumed (not measured: no GPU has run autoenc): {assumed}."])
