"""Retrieval: find the passages that best match a question.

Two rankings are fused by reciprocal rank fusion (RRF, Cormack et al. 2009):

- dense: FAISS inner product between the question's embedding and each
  passage's (both unit length, so this is cosine similarity);
- lexical: BM25 (bm25s) over the same text and the document's title, by the
  terms of `lexical.terms` (saved with the index, see `lexical`).

A passage is indexed with its speaker in front (`chunking.index_text`), so a
question naming a person finds what that person said.

Left out: query expansion, re-ranking with a cross-encoder (too slow for the
latency target on a 2-core CPU without a GPU).
"""

from dataclasses import dataclass

import numpy as np

from .embedding import Embedder
from .lexical import bm25_of, idf, in_vocabulary, index_frequencies as document_frequencies  # noqa: F401
from .lexical import fold, stopwords, terms, words  # noqa: F401 (the answer step's tokeniser, re-exported)
from .store import Index

RRF_K = 60


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with the evidence behind its rank."""

    row: int        # line of the passage in the index
    score: float    # fused RRF score; higher is better
    dense: float    # cosine similarity to the question
    lexical: float  # BM25 score (0 when no term matched)


MODES = ("hybrid", "dense", "lexical")


def search(index: Index, question: str, *, n: int = 50, embedder: Embedder | None = None,
           query_vector: np.ndarray | None = None, mode: str = "hybrid") -> list[Hit]:
    """Fused ranking of up to `n` passages for `question`, best first.

    `mode` "dense" or "lexical" ranks by one signal alone (for comparison)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    total = len(index.passages)
    n = min(n, total)
    if n == 0:
        return []
    if query_vector is None:
        query_vector = (embedder or index.embedder()).encode([question])[0]
    if index.engine is not None:  # the passages are searched elsewhere (see `milvus`)
        return index.engine.search(index, question, query_vector, n, mode)
    dense: dict[int, float] = {}
    if mode != "lexical":
        dense_rows, dense_scores = index.nearest(query_vector, n)
        dense = dict(zip(dense_rows.tolist(), dense_scores.tolist()))

    lexical: dict[int, float] = {}
    if mode != "dense":
        bm25 = bm25_of(index)
        query_terms = [t for t in terms(question) if t in bm25.vocab_dict]
        if query_terms:
            scores = bm25.get_scores(query_terms)
            top = np.argpartition(-scores, n - 1)[:n] if n < total else np.arange(total)
            lexical = {int(r): float(scores[r]) for r in top if scores[r] > 0}

    fused: dict[int, float] = {}
    for ranking in (dense, lexical):
        for rank, row in enumerate(sorted(ranking, key=ranking.get, reverse=True)):
            fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
    rows = sorted(fused, key=lambda r: (-fused[r], r))[:n]
    missing = [r for r in rows if r not in dense]
    if missing:  # a lexical-only hit still needs its cosine for the answer step
        sims = index.vectors[missing] @ query_vector
        dense.update({r: float(s) for r, s in zip(missing, sims)})
    return [Hit(r, fused[r], dense[r], lexical.get(r, 0.0)) for r in rows]
