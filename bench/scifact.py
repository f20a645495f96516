"""BEIR SciFact: retrieval quality and indexing speed.

Indexes the 5,183 abstracts (title + abstract, as BEIR does) with
`rag.build_index`, retrieves for the 300 test claims with `rag.retrieve` in each
mode (dense only, BM25 only, hybrid), ranks documents by their best passage, and
scores nDCG@10 and Recall@100 with ir-measures (pytrec_eval underneath). Also
times the build (passages/s) and `retrieve`/`ask` per query.

Data: ../shared/bench/scifact (CC BY-NC 2.0, allenai/SciFact via BEIR).
Usage: .venv/bin/python bench/scifact.py [--data DIR] [--limit-docs N]
Writes bench/results/scifact.json.
"""

import argparse
import csv
import json
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
from bench.common import machine, percentile, timed, write_result  # noqa: E402

PUBLISHED = {"lexical": ("BM25 (Anserini flat / multifield)", "0.679 / 0.665", "-"),
             "dense": ("all-MiniLM-L6-v2 (MTEB)", "0.645", "0.925"),
             "hybrid": ("-", "-", "-")}
PASSAGES_PER_QUERY = 3000  # enough passages to rank 100 distinct abstracts


def load(data: Path, limit: int | None):
    docs = []
    with open(data / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            docs.append(rag.Document(id=row["_id"], title=row["title"], text=f"{row['title']}\n\n{row['text']}"))
    queries = {}
    with open(data / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            queries[row["_id"]] = row["text"]
    qrels = {}
    with open(data / "qrels" / "test.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    if limit:
        keep = {d for rel in qrels.values() for d in rel}
        docs = [d for d in docs if d.id in keep] + [d for d in docs if d.id not in keep][: max(0, limit - len(keep))]
    return docs, {q: queries[q] for q in qrels}, qrels


def document_ranking(passages: list[rag.Passage]) -> list[str]:
    """Documents in the order of their best passage (MaxP)."""
    return list(dict.fromkeys(p.doc_id for p in passages))


def main() -> None:
    import ir_measures
    from ir_measures import R, nDCG

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "bench" / "scifact")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work")
    parser.add_argument("--limit-docs", type=int, help="index only the judged abstracts plus this many in all (a quick look)")
    parser.add_argument("--int8", action="store_true", help="build with the int8 embedder (rag index --int8)")
    parser.add_argument("--search", choices=("exact", "approximate"), default="exact",
                        help="vector search (rag index --search); approximate reuses the exact run's vectors")
    parser.add_argument("--milvus", action="store_true",
                        help="search in Milvus Lite (rag index --store milvus); reuses the exact run's vectors")
    args = parser.parse_args()

    docs, queries, qrels = load(args.data, args.limit_docs)
    name = "scifact-int8" if args.int8 else "scifact"
    exact_dir = args.work / f"{name}-index"
    name += "-approximate" if args.search == "approximate" else ""
    name += "-milvus" if args.milvus else ""
    index_dir = args.work / f"{name}-index"
    milvus = str(args.work / f"{name}.milvus.db") if args.milvus else None
    shutil.rmtree(index_dir, ignore_errors=True)
    if milvus:
        shutil.rmtree(milvus, ignore_errors=True)
    reused = (args.search == "approximate" or args.milvus) and (exact_dir / "manifest.json").is_file()
    if reused:  # same vectors as the exact run: only the search structure differs
        shutil.copytree(exact_dir, index_dir)
    rag.ask("warm-up", rag.build_index([rag.Document(id="w", text="Warm up the model.")], args.work / "warm", int8=args.int8))

    start = time.perf_counter()
    index = rag.build_index(docs, index_dir, progress=sys.stderr.isatty(), int8=args.int8, search=args.search, milvus=milvus)
    build_s = time.perf_counter() - start
    print(f"indexed {len(docs)} abstracts, {len(index.passages)} passages in {build_s:.1f} s "
          f"({len(index.passages) / build_s:.0f} passages/s)", file=sys.stderr)

    qrel_list = [ir_measures.Qrel(q, d, rel) for q, rels in qrels.items() for d, rel in rels.items()]
    results, latency = {}, {}
    for mode in ("dense", "lexical", "hybrid"):
        run = []
        for qid, text in queries.items():
            ranking = document_ranking(rag.retrieve(text, k=PASSAGES_PER_QUERY, index=index, mode=mode))
            run += [ir_measures.ScoredDoc(qid, d, float(len(ranking) - r)) for r, d in enumerate(ranking[:1000])]
        scores = ir_measures.calc_aggregate([nDCG @ 10, R @ 100], qrel_list, run)
        results[mode] = {"ndcg@10": scores[nDCG @ 10], "recall@100": scores[R @ 100]}

    for call, fn in (("retrieve_k10", lambda q: rag.retrieve(q, k=10, index=index)), ("ask", lambda q: rag.ask(q, index))):
        times = timed(fn, list(queries.values()))
        latency[call] = {"p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99)}

    result = {
        "dataset": "BEIR SciFact test", "documents": len(docs), "queries": len(queries),
        "passages": len(index.passages), "model": index.model, "retrieval": results,
        "search": json.loads((index_dir / "manifest.json").read_text())["search"], "vectors_reused": reused,
        "store": "milvus-lite" if milvus else "local",
        "build_seconds": build_s, "passages_per_second": len(index.passages) / build_s,
        "latency": latency, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "machine": machine(),
    }
    print(f"\nBEIR SciFact, {index.model}, {len(queries)} test claims, {len(docs)} abstracts, {len(index.passages)} passages\n")
    print(f"| retriever | nDCG@10 | Recall@100 | published ({'; '.join(['nDCG@10', 'R@100'])}) |")
    print("|---|---|---|---|")
    for mode in ("dense", "lexical", "hybrid"):
        label, ndcg, recall = PUBLISHED[mode]
        print(f"| {mode} | {results[mode]['ndcg@10']:.3f} | {results[mode]['recall@100']:.3f} | {label}: {ndcg}; {recall} |")
    print(f"\nindex build: {build_s:.1f} s, {len(index.passages) / build_s:.0f} passages/s; "
          f"retrieve k=10 p50/p99 {latency['retrieve_k10']['p50_ms']:.1f}/{latency['retrieve_k10']['p99_ms']:.1f} ms; "
          f"ask p50/p99 {latency['ask']['p50_ms']:.1f}/{latency['ask']['p99_ms']:.1f} ms; "
          f"peak RSS {result['peak_rss_mb']:.0f} MB")
    print(f"wrote {write_result(name, result)}")


if __name__ == "__main__":
    main()
