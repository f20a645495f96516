"""How building, opening and answering grow with the collection.

For each size (in passages) a synthetic collection is made from the public text
in ../shared/bench: the sentences of SciFact's 5,183 abstracts and of SQuAD's
dev paragraphs, recombined: each sentence of the collection joins the first
part of one sentence of that pool to the last part of another (at a word
boundary, seeded), so no two passages are copies of each other; a document is
10-20 such sentences under the title of a random abstract. It costs what real
text of that length costs to chunk, embed and index; it is not meant to be read.
`--corpus scifact` runs the same measurements on SciFact's own abstracts.

Each step runs in a fresh process, so its peak memory (ru_maxrss) is its own:
1. build the index with `rag.build_index` (int8 embedder unless --fp32): time,
   passages/s, peak memory, size on disk;
2. open it and answer 100 questions (SciFact claims and SQuAD questions) with
   `rag.ask`, then `rag.retrieve` k=10 for each: time to open, first answer,
   p50/p99 of each, peak memory;
3. for approximate indexes, recall@10 of `rag.retrieve`'s dense ranking against
   exact search over the same vectors for 200 questions (a passage tied in
   score with the exact 10th counts as found).

Usage: .venv/bin/python bench/scale.py [--sizes 100000 300000 1000000] [--corpus synthetic|scifact] [--fp32]
Writes bench/results/scale.json (merged by size; scale-scifact.json for SciFact) and bench/results/scale.png.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_result  # noqa: E402

DATA = ROOT.parent / "shared" / "bench"
WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results"
QUESTIONS = WORK / "scale-questions.json"

COMMON = r"""
import json, random, re, resource, sys, time
from pathlib import Path
sys.path.insert(0, ROOT)
import rag

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def pool():
    sentences, titles = [], []
    for line in open(Path(DATA) / "scifact" / "corpus.jsonl", encoding="utf-8"):
        row = json.loads(line)
        titles.append(row["title"])
        sentences += re.split(r"(?<=[.!?])\s+(?=[A-Z])", row["text"])
    squad = json.load(open(Path(DATA) / "squad" / "dev-v1.1.json", encoding="utf-8"))
    for article in squad["data"]:
        for paragraph in article["paragraphs"]:
            sentences += re.split(r"(?<=[.!?])\s+(?=[A-Z])", paragraph["context"])
    return [s.split() for s in sentences if 6 <= len(s.split()) <= 60], titles

def synthetic(passages):
    words, titles = pool()
    rng = random.Random(0)
    # About 1.2 sentences a passage (measured on this text by the chunker).
    sentences_needed, made = int(passages / 0.85), 0
    docs = []
    while made < sentences_needed:
        body = []
        for _ in range(rng.randint(10, 20)):
            a, b = rng.choice(words), rng.choice(words)
            cut_a, cut_b = rng.randint(3, len(a) - 1), rng.randint(1, len(b) - 2)
            s = " ".join(a[:cut_a] + b[cut_b:])
            body.append(s[0].upper() + s[1:].rstrip(".!?") + ".")
        made += len(body)
        docs.append(rag.Document(id=f"s{len(docs):07d}", title=rng.choice(titles), text=" ".join(body)))
    return docs

def scifact():
    return [rag.Document(id=r["_id"], title=r["title"], text=r["title"] + "\n\n" + r["text"])
            for r in map(json.loads, open(Path(DATA) / "scifact" / "corpus.jsonl", encoding="utf-8"))]

def questions(n):
    # Written by the parent: reading SQuAD's JSON here would count in this process's memory.
    return json.loads(Path(QUESTIONS).read_text(encoding="utf-8"))[:n]
"""

BUILD = COMMON + r"""
corpus, size, target, int8, search = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1", sys.argv[5]
docs = synthetic(size) if corpus == "synthetic" else scifact()
start = time.perf_counter()
index = rag.build_index(docs, target, int8=int8, search=search, progress=True)
seconds = time.perf_counter() - start
print(json.dumps({"documents": len(docs), "passages": len(index.passages), "build_s": seconds,
                  "passages_per_s": len(index.passages) / seconds, "build_peak_mb": peak_mb(),
                  "approximate": index.approximate, "probe": index.probe,
                  "lists": getattr(index.search_index, "nlist", 0)}))
"""

PROBE = COMMON + r"""
start = time.perf_counter()
index = rag.load_index(sys.argv[1])
opened = time.perf_counter()
asked = questions(100)
rag.ask(asked[0], index)
first = time.perf_counter()
ask_ms, retrieve_ms = [], []
for q in asked:
    t = time.perf_counter(); rag.ask(q, index); ask_ms.append((time.perf_counter() - t) * 1000)
for q in asked:
    t = time.perf_counter(); rag.retrieve(q, k=10, index=index); retrieve_ms.append((time.perf_counter() - t) * 1000)
ask_ms.sort(); retrieve_ms.sort()
print(json.dumps({"open_s": opened - start, "first_ask_s": first - opened,
                  "ask_p50_ms": ask_ms[49], "ask_p99_ms": ask_ms[98],
                  "retrieve_p50_ms": retrieve_ms[49], "retrieve_p99_ms": retrieve_ms[98],
                  "open_and_answer_peak_mb": peak_mb()}))
"""

RECALL = COMMON + r"""
import numpy as np
index = rag.load_index(sys.argv[1])
asked = questions(200)
embedder = index.embedder()
q = embedder.encode(asked)
k = 10
best = np.full((len(q), k), -np.inf, dtype=np.float32)
for start in range(0, len(index.vectors), 65536):
    scores = q @ np.asarray(index.vectors[start:start + 65536]).T
    best = -np.sort(-np.concatenate([best, scores], axis=1), axis=1)[:, :k]
found = 0
for i in range(len(q)):
    rows, _ = index.nearest(q[i], 50)  # as retrieval asks for its dense ranking
    exact_scores = np.asarray(index.vectors[rows[:k]]) @ q[i]
    found += int((exact_scores >= best[i, -1] - 1e-6).sum())
print(json.dumps({"recall_at_10": found / (k * len(q))}))
"""


def write_questions(n: int = 200) -> None:
    """Half SciFact claims, half SQuAD questions, seeded."""
    import random

    claims = [json.loads(line)["text"] for line in open(DATA / "scifact" / "queries.jsonl", encoding="utf-8")]
    squad = json.loads((DATA / "squad" / "dev-v1.1.json").read_text(encoding="utf-8"))
    asked = [q["question"] for a in squad["data"] for p in a["paragraphs"] for q in p["qas"]]
    rng = random.Random(1)
    picked = [q for pair in zip(rng.sample(claims, n // 2), rng.sample(asked, n // 2)) for q in pair]
    QUESTIONS.write_text(json.dumps(picked), encoding="utf-8")


def child(script: str, *args) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = f"ROOT = {str(ROOT)!r}\nDATA = {str(DATA)!r}\nQUESTIONS = {str(QUESTIONS)!r}\n" + script
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, stdout=subprocess.PIPE, text=True)
    if out.returncode:
        raise SystemExit(f"scale: error: a step failed (exit {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def measure(corpus: str, size: int, int8: bool, search: str) -> dict:
    target = WORK / f"scale-{corpus}-{size}"
    shutil.rmtree(target, ignore_errors=True)
    print(f"== {corpus} {size:,}: building", file=sys.stderr, flush=True)
    row = {"corpus": corpus, "size": size, "int8": int8, **child(BUILD, corpus, size, target, int(int8), search)}
    row["disk_mb"] = disk_mb(target)
    print(f"== {corpus} {size:,}: opening and answering", file=sys.stderr, flush=True)
    row.update(child(PROBE, target))
    row["recall_at_10"] = child(RECALL, target)["recall_at_10"] if row["approximate"] else 1.0
    print(json.dumps(row), flush=True)
    return row


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: r["passages"])
    x = [r["passages"] / 1e6 for r in rows]
    panels = [("build time (min)", [r["build_s"] / 60 for r in rows]),
              ("size on disk (MB)", [r["disk_mb"] for r in rows]),
              ("peak memory (MB)", None),
              ("latency (ms)", None)]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    for ax, (title, ys) in zip(axes, panels):
        if title.startswith("peak"):
            ax.plot(x, [r["build_peak_mb"] for r in rows], "o-", label="build")
            ax.plot(x, [r["open_and_answer_peak_mb"] for r in rows], "s-", label="open + 100 answers")
            ax.legend()
        elif title.startswith("latency"):
            for key, mark in (("retrieve_p50_ms", "o-"), ("retrieve_p99_ms", "o--"), ("ask_p50_ms", "s-"), ("ask_p99_ms", "s--")):
                ax.plot(x, [r[key] for r in rows], mark, label=key.replace("_ms", ""))
            ax.legend(fontsize=8)
        else:
            ax.plot(x, ys, "o-")
        ax.set_title(title)
        ax.set_xlabel("passages (millions)")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--corpus", choices=("synthetic", "scifact"), default="synthetic")
    parser.add_argument("--fp32", action="store_true", help="embed with the fp32 model (default: int8, as README advises for large collections)")
    parser.add_argument("--search", choices=("auto", "exact", "approximate"), default="auto")
    parser.add_argument("--results", default="scale", help="results file name (default scale; scifact writes scale-scifact)")
    args = parser.parse_args()
    if args.corpus == "scifact" and args.results == "scale":
        args.results = "scale-scifact"
    if not (DATA / "scifact" / "corpus.jsonl").is_file():
        raise SystemExit(f"scale: error: no benchmark data in {DATA}")
    WORK.mkdir(parents=True, exist_ok=True)
    write_questions()
    sizes = [0] if args.corpus == "scifact" else args.sizes
    previous = RESULTS / f"{args.results}.json"
    rows = {}
    if previous.is_file():
        rows = {(r["corpus"], r["size"], r["int8"], r["approximate"]): r for r in json.loads(previous.read_text()).get("rows", [])}
    for size in sizes:
        row = measure(args.corpus, size, not args.fp32, args.search)
        rows[(row["corpus"], row["size"], row["int8"], row["approximate"])] = row
        write_result(args.results, {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "rows": list(rows.values())})
    synthetic = [r for r in rows.values() if r["corpus"] == "synthetic" and r["int8"]]
    if len(synthetic) > 1:
        plot(synthetic, RESULTS / "scale.png")
        print("wrote", RESULTS / "scale.png")


if __name__ == "__main__":
    main()
