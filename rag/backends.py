"""Backends: where an index's passages are searched, behind one interface.

A `Backend` is told an index's rows as a build writes them (`write`), finds
the passages nearest a question by its vector and its terms (`search`, `Hit`s
best first, the two rankings fused by reciprocal rank fusion, Cormack et al.
2009), and drops what it wrote (`drop`). `location()` is what the index's
manifest records of it, and the manifest chooses the backend an opened index
searches with (`store.open_index`; a build names the one it writes to,
`indexing.build_index`). Two implement it:

- `Local`: FAISS inner product over the index's vectors (both sides unit
  length, so cosine similarity) and BM25 (bm25s) over its terms, fused here.
  Its structures are files of the index directory itself, which `indexing`
  writes with the rest, so its `write` and `drop` have nothing of their own.
- `milvus.Milvus`: a collection in Milvus (Lite, embedded, or a server),
  which searches both ways and fuses with its own RRF ranker.

Left out: other engines, and searching in more than one backend at once.
"""

from dataclasses import dataclass
from typing import Iterable, NamedTuple, Protocol

import numpy as np

from .lexical import bm25_of, terms

RRF_K = 60
MODES = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with the evidence behind its rank."""

    row: int        # line of the passage in the index
    score: float    # fused RRF score; higher is better
    dense: float    # cosine similarity to the question
    lexical: float  # BM25 score (0 when no term matched)


class Row(NamedTuple):
    """One passage as a build gives it to a backend."""

    row: int
    vector: np.ndarray
    terms: list[str]
    text: str
    doc_id: str
    title: str
    start: int
    end: int
    speaker: str | None


class Backend(Protocol):
    def location(self) -> dict | None:
        """What the manifest records ("store"); None for the index directory itself."""

    def write(self, rows: Iterable[Row], *, dim: int, approximate: bool) -> None:
        """Take the index's rows in order; `approximate`: search by a graph or lists, not every vector."""

    def search(self, index, question: str, query_vector: np.ndarray, n: int, mode: str) -> list[Hit]:
        """Up to `n` passages of `index`, best first; `mode` "dense" or "lexical" ranks by one signal alone."""

    def drop(self) -> None:
        """Remove what `write` made (a failed build, or a rebuild's old collection)."""


class Local:
    """FAISS and BM25 over the index directory's own files."""

    def location(self) -> None:
        return None

    def write(self, rows: Iterable[Row], *, dim: int, approximate: bool) -> None:
        pass  # vectors.faiss and lexical/ are files of the index, written by `indexing`

    def drop(self) -> None:
        pass

    def search(self, index, question: str, query_vector: np.ndarray, n: int, mode: str) -> list[Hit]:
        total = len(index.passages)
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
