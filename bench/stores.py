"""The local store and Milvus Lite side by side on the two article sets.

Builds the bundled article's index twice (local, and with `--store milvus` into
Milvus Lite), scores both question sets by `rag eval`'s rules, and times
`retrieve` (k=5) and `ask` per question on each. With `--scifact`, also ranks
SciFact's abstracts for its 300 test claims on the indexes that
`bench/scifact.py` and `bench/scifact.py --milvus` left in bench/work (the
same vectors), from the best 300 passages each (Milvus Lite, pure Python, takes
a second a question for 3,000): hybrid nDCG@10, and `retrieve` k=10 p50.

Usage: .venv/bin/python bench/stores.py [--scifact]    Writes bench/results/stores.json.
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
from bench.articles import SETS  # noqa: E402
from bench.common import machine, percentile, timed, write_result  # noqa: E402
from rag.config import BUNDLED_ARTICLE  # noqa: E402
from rag.evaluation import evaluate, read_cases  # noqa: E402


def scifact(result: dict) -> None:
    import ir_measures
    from ir_measures import nDCG

    from bench.scifact import document_ranking, load

    _, queries, qrels = load(ROOT.parent / "shared" / "bench" / "scifact", None)
    qrel_list = [ir_measures.Qrel(q, d, rel) for q, rels in qrels.items() for d, rel in rels.items()]
    for store, name in (("local", "scifact-index"), ("milvus-lite", "scifact-milvus-index")):
        index = rag.load_index(ROOT / "bench" / "work" / name)
        run = []
        for qid, text in queries.items():
            ranking = document_ranking(rag.retrieve(text, k=300, index=index))
            run += [ir_measures.ScoredDoc(qid, d, float(len(ranking) - r)) for r, d in enumerate(ranking)]
        ms = timed(lambda q: rag.retrieve(q, k=10, index=index), list(queries.values()))
        result["stores"][store]["scifact"] = {"ndcg@10": ir_measures.calc_aggregate([nDCG @ 10], qrel_list, run)[nDCG @ 10],
                                              "retrieve_k10_p50_ms": percentile(ms, 50)}
        print(f"{store} SciFact: nDCG@10 {result['stores'][store]['scifact']['ndcg@10']:.3f}")


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--scifact", action="store_true")
    args = parser.parse_args()
    result = {"machine": machine(), "stores": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for store in ("local", "milvus-lite"):
            milvus = str(Path(tmp) / "milvus.db") if store == "milvus-lite" else None
            index = rag.build_index([BUNDLED_ARTICLE], Path(tmp) / store, milvus=milvus)
            row = {}
            for name, path in SETS.items():
                cases = read_cases(path)
                report = evaluate(cases, index)
                questions = [c.question for c in cases]
                retrieve_ms = timed(lambda q: rag.retrieve(q, k=5, index=index), questions, 5)
                ask_ms = timed(lambda q: rag.ask(q, index), questions, 5)
                row[name] = {"questions": len(cases), "correct": sum(o.correct for o in report.outcomes),
                             "retrieve_p50_ms": percentile(retrieve_ms, 50), "retrieve_p99_ms": percentile(retrieve_ms, 99),
                             "ask_p50_ms": percentile(ask_ms, 50), "ask_p99_ms": percentile(ask_ms, 99)}
                print(f"{store} {name}: {row[name]['correct']} / {len(cases)}, retrieve p50 {row[name]['retrieve_p50_ms']:.1f} ms, "
                      f"ask p50 {row[name]['ask_p50_ms']:.1f} ms")
            result["stores"][store] = row
    if args.scifact:
        scifact(result)
    print("wrote", write_result("stores", result))


if __name__ == "__main__":
    main()
