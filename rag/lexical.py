"""Lexical: the words of a passage as BM25 sees them, and the BM25 index.

`terms()` is the one tokeniser for BM25 and for the answer step: lower-cased,
accents folded, stop words removed, Snowball-stemmed (PyStemmer), so
"providing" matches "provide" and "Mongke" matches "Möngke".

The BM25 index (bm25s) is built when an index is written and saved beside its
vectors in `lexical/`, as bm25s's own files (the score matrix as `.npy` arrays,
vocabulary and parameters as JSON; no pickle). So is the lexicon, the
documents' distinct words and names most frequent first (`lexicon.json`), with
the embeddings of the 20,000 most frequent (`lexicon-vectors.npy`, in float16,
all that word-to-word similarity needs; for indexes of 5,000 passages or more),
which the answer step uses to read a reader's own words. Opening an index maps both instead of tokenising every passage and
embedding every word again.

Left out: other languages' stemmers and stop words.
"""

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .chunking import Passage, index_text
from .files import npy_view

DIRECTORY = "lexical"
LEXICON, LEXICON_VECTORS = "lexicon.json", "lexicon-vectors.npy"
# The vocabulary embedded for meaning look-ups: the most frequent words.
MAX_EMBEDDED_WORDS = 20_000
# Indexes this large embed those words when written (up to ~10 s, a few percent
# of embedding their passages), so that no process opening them has to; a
# smaller one embeds them on first use, in a second or two, and uploads on the
# chat page stay quick.
EMBED_LEXICON_FROM_PASSAGES = 5_000
# A word of the lexicon: letters, with an inner apostrophe ("Putin’s").
TOKEN = re.compile(r"[^\W\d_]+(?:[’'][^\W\d_]+)?", re.UNICODE)
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


def passage_text(passage: Passage, role: str, title: str) -> str:
    """What BM25 indexes for a passage: its indexed text and its document's
    title, so that a question naming the topic ("… at Super Bowl 50?") finds a
    sentence that only says "The Broncos defeated the Panthers". Unlike the
    embedding, BM25 loses nothing by it: words every passage shares weigh ~0."""
    return f"{index_text(passage, role)} {title}"


def passage_terms(passage: Passage, role: str, title: str) -> list[str]:
    """`terms` of `passage_text`, past the cache: a build sees each passage once."""
    return list(_terms.__wrapped__(passage_text(passage, role, title)))


def bm25_of(index):
    """The BM25 index saved with an index."""
    return index.derived["bm25"]


def build_from_terms(passage_terms: list[list[str]]):
    """The BM25 index over passages given as their `terms`, in row order."""
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index(passage_terms, show_progress=False)
    return bm25


def save(bm25, directory: Path) -> None:
    bm25.save(directory, corpus=None, show_progress=False, allow_pickle=False)


def from_files(files: dict):
    """The BM25 index from the files `save` wrote, by name: bytes or memory
    maps the store has opened and checked (nothing is opened twice, so a writer
    swapping the index in meanwhile cannot mix two versions). What
    `bm25s.BM25.load(mmap=True)` does: the score matrix stays in the files."""
    import json

    import bm25s

    params = json.loads(bytes(files["params.index.json"]))
    num_docs = params.pop("num_docs")
    params.pop("version", None)
    bm25 = bm25s.BM25(**params)
    if bm25.method in bm25.methods_requiring_nonoccurrence:
        raise ValueError(f"BM25 variant {bm25.method!r} is not one this index writes")
    bm25.vocab_dict = json.loads(bytes(files["vocab.index.json"]))
    bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
    bm25.scores = _checked_scores({name: npy_view(files[f"{name}.csc.index.npy"]) for name in ("data", "indices", "indptr")},
                                  params, len(bm25.vocab_dict))
    bm25.scores["num_docs"] = num_docs
    bm25.nonoccurrence_array = None
    return bm25


def _checked_scores(scores: dict, params: dict, terms: int) -> dict:
    """The score matrix's arrays, if they are of the types and shapes bm25s
    wrote: another integer width would be read without error, as wrong scores."""
    data, indices, indptr = scores["data"], scores["indices"], scores["indptr"]
    if (data.dtype != np.dtype(params.get("dtype", "float32")) or data.dtype.kind != "f"
            or indices.dtype != np.dtype(params.get("int_dtype", "int32")) or indices.dtype.kind not in "iu"
            or indptr.dtype.kind not in "iu"):
        raise ValueError("the BM25 score matrix's arrays are not of the types its parameters name")
    if (data.ndim, indices.ndim, indptr.ndim) != (1, 1, 1) or len(indices) != len(data) or not 0 < len(indptr) <= terms + 1 \
            or indptr[0] != 0 or indptr[-1] != len(data):
        raise ValueError("the BM25 score matrix's arrays do not fit together")
    return scores


def document_frequencies(bm25) -> dict[str, int]:
    """In how many passages each term occurs (its column's length in the score matrix)."""
    counts = np.diff(np.asarray(bm25.scores["indptr"]))
    return {term: int(counts[i]) for term, i in bm25.vocab_dict.items() if i < len(counts)}


def index_frequencies(index) -> dict[str, int]:
    """`document_frequencies` of an index's BM25, computed once per index."""
    if "df" not in index.derived:
        index.derived["df"] = document_frequencies(bm25_of(index))
    return index.derived["df"]


def idf(index, term: str) -> float:
    """Inverse document frequency over passages; terms never seen get the largest weight."""
    n = len(index.passages)
    return float(np.log(1 + (n + 1) / (index_frequencies(index).get(term, 0) + 0.5)))


def in_vocabulary(index, term: str) -> bool:
    return term in index_frequencies(index)


@dataclass
class Lexicon:
    """What the index's text contains, for matching a reader's words to it."""

    forms: list[str]            # distinct surface words and capitalised phrases, most frequent first
    names: list[str]            # capitalised ones (and people's names, roles' words)
    folded_names: list[str]
    common: list[str]                  # the lower-case forms among the embedded ones, for spelling
    lower: np.ndarray                  # whether each form is a common (lower-case) word
    vectors: "WordVectors | None" = None  # embeddings of forms[:MAX_EMBEDDED_WORDS], built on first use
    asked: dict[str, np.ndarray] = field(default_factory=dict)  # embeddings of readers' words, kept


def build_lexicon(documents, people) -> Lexicon:
    """The words of `documents` (and the names of `people`, by document id), most frequent first."""
    counts: Counter[str] = Counter()
    capitalised: set[str] = set()
    for doc in documents:
        for sentence in re.split(r"(?<=[.!?”])\s+|\n", f"{doc.title}\n{doc.text}"):
            found = list(TOKEN.finditer(sentence))
            run: list[str] = []

            def end_run() -> None:
                if len(run) > 1:
                    counts[" ".join(run)] += 1
                    capitalised.add(" ".join(run))
                run.clear()

            for n, m in enumerate([*found, None]):
                w = re.sub(r"[’']s$", "", m.group()) if m else ""
                # A name runs over plain spaces only: "China, Russia and India" is three.
                if run and not (m is not None and n > 0 and sentence[found[n - 1].end():m.start()] == " "):
                    end_run()
                if w and w[0].isupper() and n > 0:
                    run.append(w)
                    capitalised.add(w)
                else:
                    end_run()
                if w and fold(w) not in stopwords():
                    counts[w if w in capitalised else w.lower()] += 1
    for found_people in people.values():
        for person in found_people:
            capitalised.update(a for a in person.aliases() if a[:1].isupper())
    # A word seen capitalised inside a sentence is a name wherever it stands ("Danish").
    for f in [f for f in counts if f.islower() and f.capitalize() in capitalised]:
        counts[f.capitalize()] += counts.pop(f)
    forms = [f for f, _ in counts.most_common()]
    names = sorted(capitalised)
    return lexicon_of(forms, names)


class WordVectors:
    """The lexicon's word embeddings in a FAISS index of 16-bit floats: half the
    memory of float32, and FAISS compares with them as they are, where NumPy
    would convert the whole table to float32 on every question (4x slower)."""

    def __init__(self, table: np.ndarray, lower: np.ndarray):
        import faiss

        self._index = faiss.IndexScalarQuantizer(table.shape[1], faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        for start in range(0, len(table), 4096):
            self._index.add(np.asarray(table[start:start + 4096], dtype=np.float32))
        self._lower = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.flatnonzero(lower[:len(table)])))

    def __len__(self) -> int:
        return self._index.ntotal

    def rows(self, rows) -> np.ndarray:
        return self._index.reconstruct_batch(np.asarray(rows, dtype=np.int64))

    def table(self) -> np.ndarray:
        return self._index.reconstruct_n(0, len(self)).astype(np.float16)

    def nearest(self, queries: np.ndarray, *, lower_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Each query's most similar word: (similarities, rows)."""
        found, rows = self._index.search(np.asarray(queries, dtype=np.float32), 1, params=self._lower if lower_only else None)
        return found[:, 0], rows[:, 0]

    def within(self, queries: np.ndarray, similarity: float, *, most: int = 256) -> np.ndarray:
        """The rows of words at least `similarity` to any of the queries, among
        each one's `most` nearest (FAISS's range search is 40x slower here)."""
        found, rows = self._index.search(np.asarray(queries, dtype=np.float32), min(most, len(self)))
        return np.unique(rows[(found >= similarity) & (rows >= 0)])


def lexicon(index) -> Lexicon:
    """An index's words, saved with it."""
    return index.derived["lexicon"]


def lexicon_of(forms: list[str], names: list[str], vectors: np.ndarray | None = None) -> Lexicon:
    lower = np.array([f.islower() for f in forms], dtype=bool)
    return Lexicon(forms, names, [fold(n) for n in names], [f for f in forms[:MAX_EMBEDDED_WORDS] if f.islower()],
                   lower, None if vectors is None else WordVectors(vectors, lower))


def save_lexicon(lex: Lexicon, directory: Path, embedder, previous: Lexicon | None = None, *,
                 embed: bool = True) -> None:
    """Write the words, and with `embed` their embeddings, into `directory`.
    Words the `previous` lexicon of the same index embedded keep their vectors."""
    import json

    if lex.vectors is None and embed:
        embedded = lex.forms[:MAX_EMBEDDED_WORDS]
        known = {}
        if previous is not None and previous.vectors is not None:
            known = dict(zip(previous.forms, previous.vectors.table()))
        new = [w for w in embedded if w not in known]
        known.update(zip(new, np.asarray(embedder.encode(new), dtype=np.float16) if new else []))
        table = np.stack([known[w] for w in embedded]) if embedded else np.zeros((0, embedder.dim), np.float16)
        lex.vectors = WordVectors(table, lex.lower)
    (directory / LEXICON).write_text(json.dumps({"forms": lex.forms, "names": lex.names}, ensure_ascii=False),
                                     encoding="utf-8")
    if lex.vectors is not None:
        np.save(directory / LEXICON_VECTORS, lex.vectors.table(), allow_pickle=False)


def lexicon_from_files(files: dict) -> Lexicon:
    import json

    words = json.loads(bytes(files[LEXICON]))
    vectors = None
    if LEXICON_VECTORS in files:
        vectors = npy_view(files[LEXICON_VECTORS])
        if vectors.dtype not in (np.float16, np.float32) or len(vectors) != min(len(words["forms"]), MAX_EMBEDDED_WORDS):
            raise ValueError("the lexicon's vectors do not match its words")
    return lexicon_of(words["forms"], words["names"], vectors)
