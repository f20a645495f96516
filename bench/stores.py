"""The local store and Milvus Lite side by side on the two article sets.

Builds the bundled article's index twice (local, and with `--store milvus` into
Milvus Lite), scores both question sets by `rag eval`'s rules, and times
`retrieve` (k=5) and `ask` per question on each. SciFact on Milvus is
`bench/scifact.py --milvus`.

Usage: .venv/bin/python bench/stores.py    Writes bench/results/stores.json.
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


def main() -> None:
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
    print("wrote", write_result("stores", result))


if __name__ == "__main__":
    main()
