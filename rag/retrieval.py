"""Retrieval: find the passages that best match a question.

The question is embedded with the index's model and handed, with its words,
to the index's backend (`backends`): FAISS and BM25 in the index directory, or
a Milvus collection. Both rank two ways, by meaning (the embeddings' cosine)
and by words (BM25 over the terms of `lexical.terms`, with the document's
title), and fuse the rankings by reciprocal rank fusion.

A passage is indexed with its speaker in front (`chunking.index_text`), so a
question naming a person finds what that person said.

Left out: query expansion, re-ranking with a cross-encoder (too slow for the
latency target on a 2-core CPU without a GPU).
"""

import numpy as np

from .backends import MODES, Hit
from .embedding import Embedder
# Re-exported for the answer step, which reads a question's words as retrieval does.
from .lexical import idf, index_frequencies as document_frequencies, stopwords, terms  # noqa: F401
from .store import Index


def search(index: Index, question: str, *, n: int = 50, embedder: Embedder | None = None,
           query_vector: np.ndarray | None = None, mode: str = "hybrid") -> list[Hit]:
    """Fused ranking of up to `n` passages of `index` for `question`, best first,
    by the index's backend (see `backends`).

    `mode` "dense" or "lexical" ranks by one signal alone (for comparison)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    n = min(n, len(index.passages))
    if n == 0:
        return []
    if query_vector is None:
        query_vector = (embedder or index.embedder()).encode([question])[0]
    return index.backend.search(index, question, query_vector, n, mode)
