"""Speed and memory on the bundled article.

Prints a table and writes bench/results/latency.json:

- `ask` and `retrieve` latency, p50/p99, in-process, over the article questions
  repeated (model loaded and index opened beforehand);
- `ask` over the natural questions (typos, other names, summaries, lists,
  follow-ups with their history): the first time each is asked (its unseen
  words are embedded then) and repeated;
- the bare baseline: sentence-transformers `encode` of the question plus a FAISS
  search over the same passage vectors, nothing else (peak memory is measured
  after it, so it includes torch);
- wall time of whole `rag ask` processes (start-up, model load, answer);
- time to build the article's index from scratch (model already loaded);
- peak resident memory of this process and of a `rag ask` process;
- time from starting `python app.py` to its page answering over HTTP.

Usage: .venv/bin/python bench/latency.py [--repeat N] [--processes N]
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
from bench.common import machine, percentile, start_app, timed, write_result  # noqa: E402
from rag.config import BUNDLED_ARTICLE  # noqa: E402
from rag.embedding import SentenceTransformerEmbedder, bundled_model_dir, default_embedder  # noqa: E402


def time_app_start() -> tuple[float, float]:
    """Seconds from starting `python app.py` until its page is served, and until
    it has answered a first question through its API."""
    import urllib.request

    start = time.perf_counter()
    proc, url, page = start_app()
    ask = urllib.request.Request(f"{url}gradio_api/run/ask", headers={"Content-Type": "application/json"},
                                 data=json.dumps({"data": ["What did Healey say about the Indo-Pacific?"]}).encode())
    try:
        urllib.request.urlopen(ask, timeout=60)
        return page, time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--processes", type=int, default=5)
    args = parser.parse_args()

    questions = [json.loads(line)["question"] for line in (ROOT / "tests/data/article_dev.jsonl").read_text().splitlines()]
    natural = [json.loads(line) for line in (ROOT / "tests/data/article_natural_dev.jsonl").read_text().splitlines()]
    embedder = default_embedder()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        index = rag.build_index([BUNDLED_ARTICLE], Path(tmp) / "index", embedder=embedder)
        build_s = time.perf_counter() - start

        for q in questions:  # warm-up: lazy structures, allocator, caches
            rag.ask(q, index)
        ask_ms = timed(lambda q: rag.ask(q, index), questions, args.repeat)
        natural_first_ms = timed(lambda c: rag.ask(c["question"], index, history=c.get("history")), natural, 1)
        natural_ms = timed(lambda c: rag.ask(c["question"], index, history=c.get("history")), natural, args.repeat)
        retrieve_ms = timed(lambda q: rag.retrieve(q, k=5, index=index), questions, args.repeat)
        flat = index.search_index
        reference = SentenceTransformerEmbedder(bundled_model_dir())
        reference.encode(questions)
        bare_ms = timed(lambda q: flat.search(reference.encode([q]), 5), questions, args.repeat)
        peak_in_process_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        rag_cmd = Path(sys.executable).with_name("rag")
        cmd = [str(rag_cmd), "ask", "What did Pistorius say about international law?", "--index", str(index.path)]
        subprocess.run(cmd, check=True, capture_output=True)  # warm the OS file cache
        process_s = []
        for _ in range(args.processes):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            process_s.append(time.perf_counter() - start)
        # Linux keeps ru_maxrss across exec, so a child of this big process would
        # report our peak; VmHWM belongs to the child's own address space.
        probe = ("import re, sys; from rag.cli import main; main(sys.argv[1:]); "
                 "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1], file=sys.stderr)")
        report = subprocess.run([sys.executable, "-c", probe, *cmd[1:]], check=True, capture_output=True, text=True)
        peak_process_mb = int(report.stderr.strip().splitlines()[-1]) / 1024

    app_start_s, app_first_answer_s = time_app_start()
    result = {
        "machine": machine(),
        "passages": len(index.passages),
        "ask_ms": {"p50": percentile(ask_ms, 50), "p99": percentile(ask_ms, 99), "n": len(ask_ms)},
        "ask_natural_first_ms": {"p50": percentile(natural_first_ms, 50), "p99": percentile(natural_first_ms, 99),
                                 "n": len(natural_first_ms)},
        "ask_natural_ms": {"p50": percentile(natural_ms, 50), "p99": percentile(natural_ms, 99), "n": len(natural_ms)},
        "retrieve_ms": {"p50": percentile(retrieve_ms, 50), "p99": percentile(retrieve_ms, 99), "n": len(retrieve_ms)},
        "bare_st_faiss_ms": {"p50": percentile(bare_ms, 50), "p99": percentile(bare_ms, 99), "n": len(bare_ms)},
        "rag_ask_process_s": {"median": statistics.median(process_s), "min": min(process_s), "n": len(process_s)},
        "index_build_s": build_s,
        "peak_rss_mb": {"in_process": peak_in_process_mb, "rag_ask_process": peak_process_mb},
        "app_start_to_page_s": app_start_s,
        "app_start_to_first_answer_s": app_first_answer_s,
    }
    rows = [
        ("ask, in-process", f"p50 {result['ask_ms']['p50']:.1f} ms", f"p99 {result['ask_ms']['p99']:.1f} ms"),
        ("ask, natural, first time", f"p50 {result['ask_natural_first_ms']['p50']:.1f} ms",
         f"p99 {result['ask_natural_first_ms']['p99']:.1f} ms"),
        ("ask, natural, repeated", f"p50 {result['ask_natural_ms']['p50']:.1f} ms", f"p99 {result['ask_natural_ms']['p99']:.1f} ms"),
        ("retrieve k=5, in-process", f"p50 {result['retrieve_ms']['p50']:.1f} ms", f"p99 {result['retrieve_ms']['p99']:.1f} ms"),
        ("bare ST encode + FAISS", f"p50 {result['bare_st_faiss_ms']['p50']:.1f} ms", f"p99 {result['bare_st_faiss_ms']['p99']:.1f} ms"),
        ("`rag ask` whole process", f"median {result['rag_ask_process_s']['median']:.2f} s", f"min {result['rag_ask_process_s']['min']:.2f} s"),
        ("index build (article)", f"{build_s * 1000:.0f} ms", f"{len(index.passages)} passages"),
        ("peak RSS", f"in-process {peak_in_process_mb:.0f} MB", f"rag ask {peak_process_mb:.0f} MB"),
        ("`python app.py` to page served", f"{app_start_s:.1f} s", ""),
        ("`python app.py` to its first answer", f"{app_first_answer_s:.1f} s", ""),
    ]
    width = max(len(r[0]) for r in rows)
    for name, a, b in rows:
        print(f"{name:<{width}}  {a:<22} {b}")
    print(f"\nwrote {write_result('latency', result)}")


if __name__ == "__main__":
    main()
