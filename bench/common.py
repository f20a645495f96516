"""Helpers shared by the benchmark scripts."""

import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

from rag.evaluation import percentile  # noqa: F401 (the scripts' percentile is `rag eval`'s)

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = RESULTS.parent.parent


def add_training_data(parser) -> None:
    """The data the fitting scripts train and check on: a PolNeAR checkout and SQuAD v1.1 dev."""
    parser.add_argument("polnear", type=Path, help="a checkout or export of github.com/networkdynamics/PolNeAR")
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared/bench/squad/dev-v1.1.json",
                        help="SQuAD v1.1 dev (default: ../shared/bench/squad/dev-v1.1.json)")


def timed(fn, items, repeat: int = 1) -> list[float]:
    """Milliseconds of each `fn(item)` call, over `items` `repeat` times."""
    out = []
    for _ in range(repeat):
        for item in items:
            start = time.perf_counter()
            fn(item)
            out.append((time.perf_counter() - start) * 1000)
    return out


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


def start_app() -> tuple[subprocess.Popen, str, float]:
    """`app.py` started on a free localhost port, once its page is served: the
    process, its URL and the seconds that took. Stop it with `terminate()`."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return proc, url, time.perf_counter() - start
        except OSError:
            if proc.poll() is not None or time.perf_counter() - start > 120:
                proc.kill()
                raise SystemExit("bench: error: app.py did not start")
            time.sleep(0.05)
