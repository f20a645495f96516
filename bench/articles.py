"""The two article question sets, scored by `rag eval`'s rules, per question type.

- tests/data/article_dev.jsonl: 16 questions mostly in the article's words;
- tests/data/article_natural_dev.jsonl: 40 questions as readers ask them
  (typos, other names, summaries, lists, comparisons, multi-part questions,
  follow-ups, near-misses the article does not answer).

Writes bench/results/articles.json (or articles-LABEL.json with --label, e.g.
to measure an older checkout of `rag` put first on PYTHONPATH).

Usage: .venv/bin/python bench/articles.py [--label NAME]
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # appended: an older `rag` on PYTHONPATH is measured instead of this one

import rag  # noqa: E402
from bench.common import machine, write_result  # noqa: E402
from rag.config import BUNDLED_ARTICLE  # noqa: E402
from rag.evaluation import by_type, evaluate, read_cases  # noqa: E402

SETS = {"article_dev": ROOT / "tests/data/article_dev.jsonl",
        "article_natural_dev": ROOT / "tests/data/article_natural_dev.jsonl"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", help="write articles-LABEL.json")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        index = rag.build_index([BUNDLED_ARTICLE], Path(tmp) / "index")
        result = {"label": args.label or "current", "machine": machine(), "sets": {}}
        for name, path in SETS.items():
            report = evaluate(read_cases(path), index)
            types = by_type(report)
            answerable = [o for o, c in zip(report.outcomes, read_cases(path)) if c.answerable]
            result["sets"][name] = {
                "questions": len(report.outcomes),
                "correct": sum(o.correct for o in report.outcomes),
                "answerable": len(answerable),
                "answerable_correct": sum(o.correct for o in answerable),
                "false_abstentions": report.false_abstentions,
                "unanswerable_refused": round(report.abstention_accuracy * (len(report.outcomes) - len(answerable))),
                "by_type": {t: {"correct": r, "total": n} for t, (r, n) in types.items()},
                "max_answer_chars": report.max_answer_chars,
                "ask_p50_ms": report.latency_p50_ms,
                "ask_p99_ms": report.latency_p99_ms,
            }
            print(f"{name}: {result['sets'][name]['correct']} / {len(report.outcomes)}")
    print(f"wrote {write_result('articles' + (f'-{args.label}' if args.label else ''), result)}")


if __name__ == "__main__":
    main()
