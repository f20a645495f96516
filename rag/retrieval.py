"""Retrieval: find the passages that best match a question.

Two rankings are fused by reciprocal rank fusion (RRF, Cormack et al. 2009):

- dense: FAISS inner product between the question's embedding and each
  passage's (both unit length, so this is cosine similarity);
- lexical: BM25 (bm25s) over the same text and the document's title,
  lower-cased, accents folded, stop words removed, Snowball-stemmed (PyStemmer),
  so "providing" matches "provide" and "Mongke" matches "Möngke".

A passage is indexed with its speaker in front (`chunking.index_text`), so a
question naming a person finds what that person said.

`terms()` is the one tokeniser used for BM25 and for the answer step.

Left out: query expansion, re-ranking with a cross-encoder (too slow for the
latency target on a 2-core CPU without a GPU).
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .chunking import index_text
from .embedding import Embedder
from .store import Index

RRF_K = 60
_WORD = re.compile(r"\d+(?:[.,]\d+)*|\w+(?:[’'-]\w+)*")


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with the evidence behind its rank."""

    row: int        # line of the passage in the index
    score: float    # fused RRF score; higher is better
    dense: float    # cosine similarity to the question
    lexical: float  # BM25 score (0 when no term matched)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case without accents: "Möngke" and "Mongke" are the same word to a reader."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Word tokens as written (possessives folded: "Putin’s" -> "Putin")."""
    return [re.sub(r"[’']s$", "", w) for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content terms: the vocabulary BM25 and answers share."""
    return list(_terms(text))


@lru_cache(maxsize=65536)  # the answer step asks for the same sentences' and words' terms again and again
def _terms(text: str) -> tuple[str, ...]:
    tokens = []
    for w in words(text):
        for part in fold(w).replace("’", "'").split("-"):
            # Single digits are as common as stop words; "1,500" or "2006" are not.
            if part and part not in stopwords() and not (part.isdigit() and len(part) < 2):
                tokens.append(part)
    return tuple(_stemmer().stemWords(tokens))


def lexical_index(index: Index):
    """The BM25 index over the passages, built once per opened index."""
    if "bm25" not in index.derived:
        import bm25s

        corpus = [terms(lexical_text(index, p)) or [""] for p in index.passages]
        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
        index.derived["bm25"] = bm25
        index.derived["df"] = _document_frequencies(corpus)
    return index.derived["bm25"]


def lexical_text(index: Index, passage) -> str:
    """What BM25 indexes for a passage: its indexed text and its document's
    title, so that a question naming the topic ("… at Super Bowl 50?") finds a
    sentence that only says "The Broncos defeated the Panthers". Unlike the
    embedding, BM25 loses nothing by it: words every passage shares weigh ~0."""
    return f"{index_text(passage, index.role_of(passage))} {index.documents[passage.doc_id].title}"


def _document_frequencies(corpus: list[list[str]]) -> dict[str, int]:
    df: dict[str, int] = {}
    for doc in corpus:
        for t in set(doc):
            df[t] = df.get(t, 0) + 1
    return df


def idf(index: Index, term: str) -> float:
    """Inverse document frequency over passages; terms never seen get the largest weight."""
    lexical_index(index)
    n = len(index.passages)
    return float(np.log(1 + (n + 1) / (index.derived["df"].get(term, 0) + 0.5)))


def in_vocabulary(index: Index, term: str) -> bool:
    lexical_index(index)
    return term in index.derived["df"]


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
    dense: dict[int, float] = {}
    if mode != "lexical":
        dense_scores, dense_rows = index.faiss().search(query_vector[None, :], n)
        dense = {int(r): float(s) for r, s in zip(dense_rows[0], dense_scores[0]) if r >= 0}

    lexical: dict[int, float] = {}
    if mode != "dense":
        bm25 = lexical_index(index)
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
