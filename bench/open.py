"""A new process on an existing index: how long until it has answered.

Runs a fresh Python process that opens the index, asks one question, then
retrieves for a few more; prints and writes bench/results/open-NAME.json:
time to import and open, time of the first `ask`, `retrieve` p50, and the
process's peak memory. Used on the SciFact index that bench/scifact.py leaves
in bench/work/.

Usage: .venv/bin/python bench/open.py [--index bench/work/scifact-index] [--question TEXT]
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_result  # noqa: E402

PROBE = r"""
import json, resource, sys, time
start = time.perf_counter()
import rag
index = rag.load_index(sys.argv[1])
opened = time.perf_counter()
rag.ask(sys.argv[2], index)
answered = time.perf_counter()
times = []
for q in sys.argv[3:] * 10:
    begin = time.perf_counter()
    rag.retrieve(q, k=10, index=index)
    times.append((time.perf_counter() - begin) * 1000)
times.sort()
print(json.dumps({"passages": len(index.passages), "open_s": opened - start, "first_ask_s": answered - opened,
                  "retrieve_p50_ms": times[len(times) // 2],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
MORE = ["What causes Alzheimer's disease?", "Is vitamin D linked to cancer?", "Does smoking cause lung cancer?"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=ROOT / "bench" / "work" / "scifact-index")
    parser.add_argument("--question", default="Do statins reduce the risk of cardiovascular disease?")
    args = parser.parse_args()
    if not (args.index / "manifest.json").is_file():
        raise SystemExit(f"open: error: no index in {args.index} (run bench/scifact.py first)")
    out = subprocess.run([sys.executable, "-c", PROBE, str(args.index), args.question, *MORE],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{result['passages']:,} passages: import and open {result['open_s']:.2f} s, first ask {result['first_ask_s']:.2f} s, "
          f"retrieve p50 {result['retrieve_p50_ms']:.1f} ms, peak memory {result['peak_rss_mb']:.0f} MB")
    name = args.index.name.removesuffix("-index")
    print("wrote", write_result(f"open-{name}", {"machine": machine(), "index": name, **result}))


if __name__ == "__main__":
    main()
