"""How the sentence check's thresholds were chosen (rag/answer/generative.py).

On the project's two dev sets, each answerable question's gold evidence is a
claim of the article; the passage that holds it supports it, and the passages
that hold the other questions' evidence mostly do not (same article, same
people, other claims: the hard case). For each (claim, passage) pair this
measures what `check` measures: the share of the claim's content words found
in the passage, and the cosine similarity to the passage's closest sentence;
and whether the claim's names and numbers all appear in it.

Claims are cut to their first two thirds too (a model that says less than its
source is still supported). The thresholds are then the ones that keep every
supported pair and reject as many others as they can, rounded down.

Usage: .venv/bin/python bench/thresholds.py  (writes bench/results/thresholds.json)
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
from rag.answer.generative import MIN_OVERLAP, MIN_SIMILARITY, _holds, closeness, facts  # noqa: E402
from rag.evaluation import read_cases  # noqa: E402
from rag.lexical import terms  # noqa: E402

from bench.common import machine, write_result  # noqa: E402


def overlap(claim: str, passage) -> float:
    words = set(terms(claim))
    source = passage.text + " " + (passage.speaker or "")
    return len(words & set(terms(source))) / len(words) if words else 1.0


def main() -> None:
    index = rag.load_index(None)
    embedder = index.embedder()
    claims = []
    for name in ("article_dev.jsonl", "article_natural_dev.jsonl"):
        for case in read_cases(ROOT / "tests" / "data" / name):
            for evidence in case.evidence if case.answerable else []:
                words = evidence.split()
                claims.append(evidence)
                if len(words) >= 9:
                    claims.append(" ".join(words[: 2 * len(words) // 3]))
    claims = list(dict.fromkeys(claims))
    passages = list(index.passages)
    rows = []
    for claim in claims:
        for p in passages:
            supported = claim in p.text
            rows.append({"supported": supported, "overlap": overlap(claim, p),
                         "similarity": closeness(claim, [p], embedder),
                         "facts_hold": all(_holds(p.text + " " + (p.speaker or ""), f) for f in facts(claim))})
    pos = [r for r in rows if r["supported"]]
    neg = [r for r in rows if not r["supported"]]
    print(f"{len(claims)} claims, {len(pos)} supported pairs, {len(neg)} others")
    floor = {k: float(np.floor(min(r[k] for r in pos) * 20) / 20) for k in ("overlap", "similarity")}
    chosen = {"overlap": MIN_OVERLAP, "similarity": MIN_SIMILARITY}

    def rejected(th):
        return sum(1 for r in neg if not r["facts_hold"] or r["overlap"] < th["overlap"] or r["similarity"] < th["similarity"])

    def kept(th):
        return sum(1 for r in pos if r["facts_hold"] and r["overlap"] >= th["overlap"] and r["similarity"] >= th["similarity"])

    for label, th in (("lowest supported, rounded down", floor), ("in the code", chosen)):
        print(f"{label}: overlap >= {th['overlap']:.2f}, similarity >= {th['similarity']:.2f}: "
              f"keeps {kept(th)}/{len(pos)} supported, rejects {rejected(th)}/{len(neg)} others")
    for k in ("overlap", "similarity"):
        print(f"{k}: supported p5/p50 {np.percentile([r[k] for r in pos], 5):.2f}/{np.median([r[k] for r in pos]):.2f}, "
              f"others p50/p95 {np.median([r[k] for r in neg]):.2f}/{np.percentile([r[k] for r in neg], 95):.2f}")
    grid = {}
    for o in (0.4, 0.5, 0.6, 0.7, 0.8):
        for sim in (0.0, 0.2, 0.3, 0.4, 0.5):
            th = {"overlap": o, "similarity": sim}
            grid[f"overlap {o:.1f}, similarity {sim:.1f}"] = (kept(th), rejected(th))
    print("overlap, similarity: supported kept / others rejected")
    for key, (k, r) in grid.items():
        print(f"  {key}: {k}/{len(pos)}  {r}/{len(neg)}")
    print(f"names and numbers alone reject {sum(not r['facts_hold'] for r in neg)}/{len(neg)} others, "
          f"and {sum(not r['facts_hold'] for r in pos)}/{len(pos)} supported")
    write_result("thresholds", {
        "machine": machine(), "claims": len(claims), "supported_pairs": len(pos), "other_pairs": len(neg),
        "lowest_supported": floor, "chosen": chosen,
        "chosen_keeps_supported": kept(chosen), "chosen_rejects_others": rejected(chosen),
        "facts_alone_reject_others": sum(not r["facts_hold"] for r in neg),
        "grid": {k: {"supported_kept": v[0], "others_rejected": v[1]} for k, v in grid.items()},
    })


if __name__ == "__main__":
    main()
