"""SQuAD v1.1 dev, open: find the paragraph and the answer among all of them.

One index over all 2,067 paragraphs of the 48 articles (`rag.build_index`); for
every one of the 10,570 questions:

- paragraph hit@1 / hit@5: the question's paragraph is the best / among the five
  best documents in `rag.retrieve(question, k=50)` (ranked by best passage);
- answer accuracy: `rag.ask(question).text` holds a gold answer after the
  official SQuAD normalisation (lower-case, no punctuation, no a/an/the, single
  spaces); abstentions count as wrong, and their share is reported.

The bare baseline, measured in the same run on the same sentences: a plain
sentence-transformers `encode` of every sentence of every paragraph into a
FAISS inner-product index, and the top-1 sentence as the answer.

Data: ../shared/bench/squad/dev-v1.1.json (CC BY-SA 4.0, rajpurkar/SQuAD-explorer).
Usage: .venv/bin/python bench/squad.py [--data FILE] [--limit N]
Writes bench/results/squad.json.
"""

import argparse
import json
import re
import shutil
import string
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
from bench.common import machine, percentile, write_result  # noqa: E402


def normalize_answer(s: str) -> str:
    """The official SQuAD normalisation (evaluate-v1.1.py)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def holds_answer(text: str, answers: list[str]) -> bool:
    norm = f" {normalize_answer(text)} "
    return any(f" {normalize_answer(a)} " in norm for a in answers if normalize_answer(a))


def paragraphs(articles: list[dict]) -> list[tuple[rag.Document, list[tuple[str, list[str]]]]]:
    """Each paragraph of SQuAD `articles` as a document, with its questions and their gold answers."""
    return [(rag.Document(id=f"{article['title']}#{n}", title=article["title"].replace("_", " "), text=para["context"]),
             [(qa["question"], [a["text"] for a in qa["answers"]]) for qa in para["qas"]])
            for article in articles for n, para in enumerate(article["paragraphs"])]


def halves(path: Path) -> list[list[tuple[rag.Document, list[tuple[str, list[str]]]]]]:
    """`paragraphs` of the first and of the second half of the file's articles (the fits' train and held-out)."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [paragraphs(data[: len(data) // 2]), paragraphs(data[len(data) // 2:])]


def load(path: Path):
    found = paragraphs(json.loads(path.read_text(encoding="utf-8"))["data"])
    return [doc for doc, _ in found], [(q, answers, doc.id) for doc, qas in found for q, answers in qas]


def bare_baseline(index: rag.Index, questions) -> dict:
    """sentence-transformers + FAISS over the same sentences, top-1 sentence."""
    import faiss

    from rag.embedding import SentenceTransformerEmbedder, bundled_model_dir

    model = SentenceTransformerEmbedder(bundled_model_dir())
    sentences = [(p.doc_id, index.documents[p.doc_id].text[s:e]) for p in index.passages for s, e in p.sentences]
    start = time.perf_counter()
    flat = faiss.IndexFlatIP(model.dim)
    flat.add(model.encode([text for _, text in sentences]))
    build_s = time.perf_counter() - start
    correct, hit1, times = 0, 0, []
    for question, answers, doc_id in questions:
        t = time.perf_counter()
        _, rows = flat.search(model.encode([question]), 1)
        times.append((time.perf_counter() - t) * 1000)
        top_doc, top_text = sentences[rows[0][0]]
        correct += holds_answer(top_text, answers)
        hit1 += top_doc == doc_id
    n = len(questions)
    return {"answer_accuracy": correct / n, "paragraph_hit@1": hit1 / n, "sentences": len(sentences),
            "build_seconds": build_s, "latency_p50_ms": percentile(times, 50), "latency_p99_ms": percentile(times, 99)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "bench" / "squad" / "dev-v1.1.json")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work")
    parser.add_argument("--limit", type=int, help="only the first N questions (a quick look)")
    args = parser.parse_args()

    docs, questions = load(args.data)
    if args.limit:
        questions = questions[: args.limit]
    index_dir = args.work / "squad-index"
    shutil.rmtree(index_dir, ignore_errors=True)
    start = time.perf_counter()
    index = rag.build_index(docs, index_dir, progress=sys.stderr.isatty())
    build_s = time.perf_counter() - start
    print(f"indexed {len(docs)} paragraphs, {len(index.passages)} passages in {build_s:.1f} s", file=sys.stderr)

    hit1 = hit5 = correct = abstained = two = 0
    ask_ms, retrieve_ms = [], []
    for question, answers, doc_id in questions:
        t = time.perf_counter()
        ranking = list(dict.fromkeys(p.doc_id for p in rag.retrieve(question, k=50, index=index)))
        retrieve_ms.append((time.perf_counter() - t) * 1000)
        hit1 += ranking[:1] == [doc_id]
        hit5 += doc_id in ranking[:5]
        t = time.perf_counter()
        answer = rag.ask(question, index)
        ask_ms.append((time.perf_counter() - t) * 1000)
        abstained += answer.abstained
        two += len(answer.citations) > 1
        correct += not answer.abstained and holds_answer(answer.text, answers)
    n = len(questions)
    ours = {"answer_accuracy": correct / n, "abstentions": abstained / n, "two_sentence_answers": two / n,
            "paragraph_hit@1": hit1 / n,
            "paragraph_hit@5": hit5 / n, "ask_p50_ms": percentile(ask_ms, 50), "ask_p99_ms": percentile(ask_ms, 99),
            "retrieve_p50_ms": percentile(retrieve_ms, 50), "retrieve_p99_ms": percentile(retrieve_ms, 99)}
    bare = bare_baseline(index, questions)
    result = {"dataset": "SQuAD v1.1 dev, open (all paragraphs in one index)", "paragraphs": len(docs),
              "questions": n, "passages": len(index.passages), "build_seconds": build_s,
              "rag": ours, "bare_st_faiss_top1_sentence": bare, "machine": machine()}

    print(f"\nSQuAD v1.1 dev, open: {n} questions over {len(docs)} paragraphs ({len(index.passages)} passages)\n")
    print("| system | answer accuracy | abstentions | paragraph hit@1 | paragraph hit@5 | latency p50 / p99 |")
    print("|---|---|---|---|---|---|")
    print(f"| rag ask (hybrid) | {ours['answer_accuracy']:.3f} | {ours['abstentions']:.3f} | {ours['paragraph_hit@1']:.3f} | "
          f"{ours['paragraph_hit@5']:.3f} | {ours['ask_p50_ms']:.1f} / {ours['ask_p99_ms']:.1f} ms |")
    print(f"| bare ST + FAISS, top-1 sentence | {bare['answer_accuracy']:.3f} | 0.000 | {bare['paragraph_hit@1']:.3f} | - | "
          f"{bare['latency_p50_ms']:.1f} / {bare['latency_p99_ms']:.1f} ms |")
    print(f"\naccuracy gain over the bare baseline: {100 * (ours['answer_accuracy'] - bare['answer_accuracy']):+.1f} points; "
          f"{100 * ours['two_sentence_answers']:.1f}% of answers quote a second, near-tied sentence")
    print(f"wrote {write_result('squad', result)}")


if __name__ == "__main__":
    main()
