"""Lexical: the words of a passage as BM25 sees them, and the BM25 index.

`terms()` is the one tokeniser for BM25 and for the answer step: lower-cased,
accents folded, stop words removed, Snowball-stemmed (PyStemmer), so
"providing" matches "provide" and "Mongke" matches "Möngke".

The BM25 index (bm25s) is built when an index is written and saved beside its
vectors in `lexical/`, as bm25s's own files (the score matrix as `.npy` arrays,
vocabulary and parameters as JSON; no pickle). Opening an index reads them
instead of tokenising every passage again. An index written
before this has no `lexical/`: its BM25 index is built on first use.

Left out: other languages' stemmers and stop words.
"""

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

from .chunking import Passage, index_text

DIRECTORY = "lexical"
_WORD = re.compile(r"\d+(?:[.,]\d+)*|\w+(?:[’'-]\w+)*")


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


def lexical_text(passage: Passage, role: str, title: str) -> str:
    """What BM25 indexes for a passage: its indexed text and its document's
    title, so that a question naming the topic ("… at Super Bowl 50?") finds a
    sentence that only says "The Broncos defeated the Panthers". Unlike the
    embedding, BM25 loses nothing by it: words every passage shares weigh ~0."""
    return f"{index_text(passage, role)} {title}"


def build(texts) -> "bm25s.BM25":  # noqa: F821
    """The BM25 index over `texts`, one per passage, in row order."""
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index([terms(t) or [""] for t in texts], show_progress=False)
    return bm25


def save(bm25, directory: Path) -> list[str]:
    """Write `bm25` into `directory`; the paths written, relative to its parent."""
    bm25.save(directory, corpus=None, show_progress=False, allow_pickle=False)
    return sorted(f"{directory.name}/{p.name}" for p in directory.iterdir())


def from_files(files: dict[str, bytes]):
    """The BM25 index from the bytes of the files `save` wrote, by name (bytes
    the store has checked against the manifest: nothing is read twice, so a
    writer swapping the index in meanwhile cannot mix two versions). What
    `bm25s.BM25.load` does, from bytes instead of paths."""
    import io
    import json

    import bm25s

    params = json.loads(files["params.index.json"])
    num_docs = params.pop("num_docs")
    params.pop("version", None)
    bm25 = bm25s.BM25(**params)
    if bm25.method in bm25.methods_requiring_nonoccurrence:
        raise ValueError(f"BM25 variant {bm25.method!r} is not one this index writes")
    bm25.vocab_dict = json.loads(files["vocab.index.json"])
    bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
    bm25.scores = {name: np.load(io.BytesIO(files[f"{name}.csc.index.npy"]), allow_pickle=False)
                   for name in ("data", "indices", "indptr")}
    bm25.scores["num_docs"] = num_docs
    bm25.nonoccurrence_array = None
    return bm25


def document_frequencies(bm25) -> dict[str, int]:
    """In how many passages each term occurs (its column's length in the score matrix)."""
    counts = np.diff(np.asarray(bm25.scores["indptr"]))
    return {term: int(counts[i]) for term, i in bm25.vocab_dict.items() if i < len(counts)}
