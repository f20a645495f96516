"""Helpers shared by the benchmark scripts."""

import json
import os
import platform
from datetime import date
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values, pct: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    rank = (len(values) - 1) * pct / 100
    lo = int(rank)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (rank - lo)


def machine() -> dict:
    import faiss
    import onnxruntime

    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    return {"date": date.today().isoformat(), "cpus": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_kb / 2**20, 1),
            "python": platform.python_version(), "onnxruntime": onnxruntime.__version__, "faiss": faiss.__version__}


def write_result(name: str, result: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path.relative_to(RESULTS.parent.parent)
