"""Embedding throughput: the same sentences, the same batch size, three runtimes.

Splits the first SciFact abstracts into sentences (`rag.chunk`, as indexing
does) and encodes them with sentence-transformers' own `encode`, with the ONNX
Runtime embedder `rag` uses, and with its int8 variant, each after a warm-up
batch. Prints sentences per second, the time the whole SciFact corpus would take
at that rate, and how close each runtime's vectors are to sentence-transformers'
(cosine, mean and minimum).

Data: ../shared/bench/scifact (CC BY-NC 2.0, allenai/SciFact via BEIR).
Usage: .venv/bin/python bench/throughput.py [--data DIR] [--sentences N] [--batch-size B]
Writes bench/results/throughput.json.
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_result  # noqa: E402
from rag.chunking import chunk  # noqa: E402
from rag.embedding import OnnxEmbedder, SentenceTransformerEmbedder, bundled_model_dir  # noqa: E402

SCIFACT_PASSAGES = 48631  # what bench/scifact.py indexes


def sentences(data: Path, n: int) -> list[str]:
    out: list[str] = []
    with open(data / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            out.extend(p.text for p in chunk(row["_id"], f"{row['title']}\n\n{row['text']}").passages)
            if len(out) >= n:
                return out[:n]
    return out


def timed(embedder, texts: list[str], batch_size: int):
    embedder.encode(texts[:batch_size])  # warm-up: first-call allocations, thread pools
    start = time.perf_counter()
    vectors = embedder.encode(texts)
    return vectors, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "bench" / "scifact")
    parser.add_argument("--sentences", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    texts = sentences(args.data, args.sentences)
    model_dir = bundled_model_dir()
    runtimes = [
        ("sentence-transformers encode", SentenceTransformerEmbedder(model_dir, batch_size=args.batch_size)),
        ("ONNX Runtime fp32 (rag default)", OnnxEmbedder(model_dir, batch_size=args.batch_size)),
        ("ONNX Runtime int8 (rag --int8)", OnnxEmbedder(model_dir, batch_size=args.batch_size, int8=True)),
    ]
    rows, reference = [], None
    for name, embedder in runtimes:
        vectors, seconds = timed(embedder, texts, args.batch_size)
        if reference is None:
            reference = vectors
        cosine = (vectors * reference).sum(axis=1)
        rate = len(texts) / seconds
        rows.append({"runtime": name, "seconds": round(seconds, 2), "sentences_per_second": round(rate, 1),
                     "scifact_corpus_seconds": round(SCIFACT_PASSAGES / rate, 1),
                     "cosine_mean": round(float(cosine.mean()), 4), "cosine_min": round(float(cosine.min()), 4)})

    print(f"\n{len(texts)} SciFact sentences, batch size {args.batch_size}\n")
    print("| runtime | sentences/s | whole SciFact (48,631 passages) | cosine to ST, mean / min |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['runtime']} | {r['sentences_per_second']:.0f} | {r['scifact_corpus_seconds']:.0f} s "
              f"| {r['cosine_mean']:.4f} / {r['cosine_min']:.4f} |")
    path = write_result("throughput", {"machine": machine(), "sentences": len(texts),
                                       "batch_size": args.batch_size, "runtimes": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
