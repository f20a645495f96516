"""Store: the index on disk, and opening it.

An index is a directory you can open and read:

- `manifest.json`: format name and version, model name, embedding dimension,
  chunker version, how vectors are searched, each document's id, title, source
  and SHA-256, and each file's size and SHA-256;
- `documents.jsonl`: one document a line, with its full text and the people
  found in it (so the index can be rebuilt without the original files);
- `passages.jsonl`: one passage a line: document id, offsets, text, speaker;
- `documents.rows.npy`, `passages.rows.npy`: where each line starts in those
  files, and each document's first passage row (so one line is read, not all);
- `people.json`: the people of each document and the rows each speaker says;
- `vectors.npy`: the embeddings, row i for passage line i (float32);
- `vectors.faiss`: the FAISS index that proposes the nearest rows for the
  exact vectors to re-score: every vector compared as 8-bit codes, or, for
  large indexes, an IVF index with 8-bit codes that compares a few lists;
- `lexical/`: the BM25 index and the documents' lexicon (see `lexical`).

Opening reads a passage, document or vector only when it is asked for, so a
process holds the search structures and the rows it used, not the collection. All files are opened through one descriptor of the directory, so a
reader never mixes two versions of an index that a writer swaps in (writers
never change a file in place: see `indexing`). Files up to `HASH_UP_TO` bytes are
checked against their SHA-256 when opened, larger ones against their size; a
passage is checked against its document's text when read, and a sample of the
vectors when opened. No pickle anywhere.

Left out: concurrent writers (last one wins), indexes on another machine.
"""

import hashlib
import json
import logging
import mmap
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import lexical
from .backends import Backend, Local
from .chunking import CHUNKER_VERSION, Passage
from .documents import Document
from .embedding import Embedder, embedder_for, known_models
from .errors import IndexFormatError, MissingDependencyError
from .files import NotAFileError, TooLargeError, check_size, npy_header, npy_view, open_regular, read_regular
from .speakers import Person

log = logging.getLogger("rag")

FORMAT = "rag-index"
FORMAT_VERSION = 2
MANIFEST, DOCUMENTS, PASSAGES, VECTORS = "manifest.json", "documents.jsonl", "passages.jsonl", "vectors.faiss"
DOCUMENT_ROWS, PASSAGE_ROWS, PEOPLE, EXACT_VECTORS = "documents.rows.npy", "passages.rows.npy", "people.json", "vectors.npy"
# Files this small are hashed when opened (SciFact's, not a million passages').
HASH_UP_TO = 64 * 1024 * 1024
# A manifest lists each document's id and hash: a million documents take ~150 MB.
MAX_MANIFEST_BYTES = 512 * 1024 * 1024
# Readings of an index that a writer keeps swapping before giving up.
_READ_ATTEMPTS = 5
# Files read a row at a time through their descriptor (see `Vectors`), not mapped.
_READ_BY_ROW = (DOCUMENTS, PASSAGES, VECTORS, EXACT_VECTORS)
# Parsed rows kept per opened index: a question's answer touches a few hundred
# passages; documents can be long, and fewer are kept.
CACHED_ROWS, CACHED_DOCUMENTS = 2048, 256


class Rows(Sequence):
    """The lines of a JSON lines file, each read and parsed when first asked for."""

    def __init__(self, file, starts: np.ndarray, make, where: Path, name: str, *, cached: int = CACHED_ROWS):
        self._starts, self._where = starts, where
        # A function of its own, not a bound method: no cycle keeps the file open after the index is dropped.
        self._row = lru_cache(maxsize=cached)(_row_reader(file, starts, make, where, name))

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"row {i} of {len(self)}")
        return self._row(i)


def _row_reader(file, starts: np.ndarray, make, where: Path, name: str):
    def read(i: int):
        start = int(starts[i])
        line = os.pread(file.fileno(), int(starts[i + 1]) - start, start)
        try:
            return make(json.loads(line))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: hostile nesting
            raise _corrupt(where, f"{name} is not valid JSON lines") from exc
        except (KeyError, TypeError, AttributeError) as exc:
            raise _corrupt(where, f"{name} has a row of the wrong shape ({type(exc).__name__}: {exc})") from exc
    return read


class Documents(Mapping):
    """Documents by id, read from `documents.jsonl` when asked for."""

    def __init__(self, ids: list[str], rows: Rows):
        self._row_of = {doc_id: i for i, doc_id in enumerate(ids)}
        self._rows = rows

    def __getitem__(self, doc_id: str) -> Document:
        doc = self._rows[self._row_of[doc_id]]
        if doc.id != doc_id:
            raise _corrupt(self._rows._where, f"{DOCUMENTS} does not match the manifest")
        return doc

    def __contains__(self, doc_id) -> bool:
        return doc_id in self._row_of

    def __iter__(self):
        return iter(self._row_of)

    def __len__(self) -> int:
        return len(self._row_of)


@dataclass
class Index:
    """An opened index: documents and passages read on demand, the search
    structures in memory."""

    path: Path | None
    model: str
    dim: int
    documents: Mapping[str, Document]
    people: dict[str, list[Person]]
    passages: Sequence[Passage]
    vectors: "Vectors"                    # unit-length rows, one per passage, read when indexed
    search_index: object = field(repr=False)  # the FAISS index
    speakers: dict[str, list[int]] = field(default_factory=dict, repr=False)
    first_rows: np.ndarray | None = field(default=None, repr=False)  # each document's first passage row, and the end
    probe: int = 0                        # IVF lists searched per question (approximate indexes)
    catalog: dict = field(default_factory=dict, repr=False)  # document id -> title, source, SHA-256 (the manifest's)
    store: dict | None = None             # where passages are searched when not here: {"kind": "milvus", "uri", "collection"}
    backend: "Backend" = field(default_factory=Local, repr=False)  # what searches them (see `backends`)
    derived: dict = field(default_factory=dict, repr=False)  # structures built on first use

    @property
    def approximate(self) -> bool:
        return self.probe > 0

    def speaker_of(self, passage: Passage) -> Person | None:
        """The person who says `passage`, as its document introduced them."""
        return next((p for p in self.people.get(passage.doc_id, ()) if p.name == passage.speaker), None)

    def role_of(self, passage: Passage) -> str:
        speaker = self.speaker_of(passage)
        return speaker.role if speaker else ""

    def rows_by(self, key: str) -> Mapping[str, Sequence[int]]:
        """Passage rows by "doc_id" (a document's passages are consecutive) or
        by "speaker" (rows where it is empty are left out)."""
        if key == "speaker":
            return self.speakers
        if "rows_by_doc_id" not in self.derived:
            firsts = self.first_rows.tolist()
            self.derived["rows_by_doc_id"] = {d: range(firsts[i], firsts[i + 1]) for i, d in enumerate(self.documents)}
        return self.derived["rows_by_doc_id"]

    def nearest(self, query_vector: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the `n` passages nearest to `query_vector` and their cosines,
        best first. The FAISS index, which compares compressed vectors, proposes
        twice as many; the exact vectors re-score them."""
        n = min(n, len(self.passages))
        if n <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        import faiss

        params = faiss.SearchParametersIVF(nprobe=self.probe) if self.approximate else None
        _, rows = self.search_index.search(query_vector[None, :], min(2 * n, len(self.passages)), params=params)
        rows = rows[0][rows[0] >= 0]
        scores = self.vectors[rows] @ query_vector
        best = np.argsort(-scores, kind="stable")[:n]
        return rows[best], scores[best]

    def remember(self, cache: str, key, make, *, limit: int):
        """`make()`, kept by `key` in the cache named `cache`, which is emptied
        when it reaches `limit` entries. Safe with several threads answering
        at once: the value is returned, not looked up again after a clear."""
        entries = self.derived.setdefault(cache, {})
        try:
            return entries[key]
        except KeyError:
            pass
        value = make()
        if len(entries) >= limit:
            entries.clear()
        entries[key] = value
        return value

    def embedder(self) -> Embedder:
        """The model that embedded this index, to embed questions the same way."""
        return self.derived.get("embedder") or embedder_for(self.model)


def open_index(index_dir, *, model: str | None = None) -> Index:
    """Open an index directory, checking it is whole and built for `model`
    (default: the configured embedding model)."""
    index_dir = Path(index_dir).expanduser()
    manifest, files = _snapshot(index_dir)
    accepted = {model} if model else known_models()
    if manifest["model"] not in accepted:
        raise IndexFormatError(
            f"{index_dir}: index was built with model '{manifest['model']}', but the current model is "
            f"'{sorted(accepted)[0]}'; rebuild it with: rag index PATH... --index {index_dir}"
        )
    if manifest["chunker_version"] != CHUNKER_VERSION:
        raise IndexFormatError(
            f"{index_dir}: index was built by chunker version {manifest['chunker_version']} "
            f"(this is {CHUNKER_VERSION}); rebuild it with: rag index PATH... --index {index_dir}"
        )
    try:
        return _open(index_dir, manifest, files)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError) as exc:
        raise _corrupt(index_dir, f"unexpected content ({type(exc).__name__}: {exc})") from exc


def _open(index_dir: Path, manifest: dict, files: dict) -> Index:
    n, dim, ids = manifest["passages"], manifest["dim"], list(manifest["documents"])
    if n < 0 or dim < 1:
        raise _corrupt(index_dir, f"{MANIFEST} has {n} passages of dimension {dim}")
    passage_starts = _rows_array(files[PASSAGE_ROWS], index_dir, PASSAGE_ROWS, n + 1, files[PASSAGES])
    doc_table = _rows_array(files[DOCUMENT_ROWS], index_dir, DOCUMENT_ROWS, (len(ids) + 1, 2), files[DOCUMENTS])
    first_rows = np.asarray(doc_table[:, 1])
    if first_rows[0] != 0 or first_rows[-1] != n or (np.diff(first_rows) < 0).any():
        raise _corrupt(index_dir, f"{DOCUMENT_ROWS} does not match the passages")
    documents = Documents(ids, Rows(files[DOCUMENTS], np.ascontiguousarray(doc_table[:, 0]), _document, index_dir, DOCUMENTS,
                                    cached=CACHED_DOCUMENTS))

    def checked_passage(row: dict) -> Passage:
        p = _passage(row)
        doc = documents.get(p.doc_id)
        if doc is None or doc.text[p.start:p.end] != p.text:
            raise _corrupt(index_dir, f"passage offsets do not match document '{p.doc_id}'")
        return p

    passages = Rows(files[PASSAGES], passage_starts, checked_passage, index_dir, PASSAGES)
    people_file = json.loads(bytes(files[PEOPLE]))
    people = {d: [Person(**p) for p in found] for d, found in people_file["people"].items()}
    speakers = {name: list(map(int, rows)) for name, rows in people_file["speakers"].items()}
    if any(not 0 <= r < n for rows in speakers.values() for r in rows):
        raise _corrupt(index_dir, f"{PEOPLE} names passage rows the index does not have")

    search_index, vectors, probe = _read_vectors(files, manifest, index_dir)
    if search_index.d != dim or search_index.ntotal != n or vectors.shape != (n, dim):
        raise _corrupt(index_dir, f"{n} passages, but {VECTORS} holds {search_index.ntotal} vectors of dimension {search_index.d}")
    # Embeddings are unit length (a text with no words may embed to zero); anything else is damage.
    sample = vectors[np.unique(np.linspace(0, n - 1, min(n, 1000)).astype(int))] if n else np.zeros((0, dim), np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", sample, sample))
    if not np.isfinite(sample).all() or not (np.isclose(norms, 1.0, atol=1e-3) | (norms == 0)).all() or (len(norms) and not norms.any()):
        raise _corrupt(index_dir, f"{VECTORS} holds vectors that are not embeddings (zeroed, NaN or scaled)")

    index = Index(index_dir, manifest["model"], dim, documents, people, passages, vectors, search_index,
                  speakers, first_rows, probe, manifest["documents"], manifest.get("store"))
    index.backend = _backend(index.store, index_dir)
    saved = {name.split("/", 1)[1]: files[name] for name in manifest["lexical"]}
    bm25 = lexical.from_files(saved)
    if bm25.scores["num_docs"] != n:
        raise _corrupt(index_dir, f"its lexical index holds {bm25.scores.get('num_docs')} passages, not {n}")
    index.derived["bm25"] = bm25
    index.derived["lexicon"] = lexical.lexicon_from_files(saved)
    return index


def _backend(store, index_dir: Path) -> Backend:
    """The backend the manifest names (its "store" entry; absent: the local files)."""
    if store is None:
        return Local()
    if not isinstance(store, dict) or store.get("kind") != "milvus" or not all(
            isinstance(store.get(k), str) for k in ("uri", "collection")):
        raise _corrupt(index_dir, f"{MANIFEST} names a store it does not know: {store!r}")
    import importlib.util

    from .milvus import MISSING, Milvus

    if importlib.util.find_spec("pymilvus") is None:
        raise MissingDependencyError(f"{index_dir}: its passages are in Milvus, and {MISSING}")
    return Milvus(store["uri"], store["collection"])


def _passage(r: dict) -> Passage:
    if not (isinstance(r["start"], int) and isinstance(r["end"], int) and isinstance(r["text"], str)):
        raise TypeError("passages.jsonl has a passage whose offsets or text are of the wrong type")
    return Passage(r["doc_id"], r["text"], r["start"], r["end"], speaker=r["speaker"],
                   sentences=tuple((s, e) for s, e in r["sentences"]))


def _document(r: dict) -> Document:
    if not isinstance(r["text"], str):
        raise TypeError("documents.jsonl has a document whose text is not text")
    return Document(r["id"], r["text"], r["title"], r["source"])


def _rows_array(data, index_dir: Path, name: str, shape, of) -> np.ndarray:
    """The row table `name`, checked to point inside the file `of`."""
    starts = npy_view(data)
    shape = shape if isinstance(shape, tuple) else (shape,)
    if starts.dtype != np.int64 or starts.shape != shape:
        raise _corrupt(index_dir, f"{name} does not match the manifest")
    offsets = starts[:, 0] if starts.ndim == 2 else starts
    if offsets[0] != 0 or offsets[-1] != os.fstat(of.fileno()).st_size or (np.diff(offsets) < 0).any():
        raise _corrupt(index_dir, f"{name} does not match {name.split('.')[0]}.jsonl")
    return starts




class Vectors:
    """The exact vectors, read by row from `vectors.npy` through the file, not
    a memory map: a question re-scores a hundred rows scattered over the file,
    and a map would keep the pages around each of them (the kernel maps 64 KB
    around a fault) in the process, until it held the whole file."""

    def __init__(self, file, index_dir: Path):
        self._fd = file.fileno()
        self._file = file  # keeps the descriptor open
        try:
            dtype, shape, self._offset = npy_header(os.pread(self._fd, 4096, 0))
        except ValueError as exc:
            raise _corrupt(index_dir, f"{EXACT_VECTORS} cannot be read ({exc})") from None
        if dtype != np.float32 or len(shape) != 2 or shape[0] * shape[1] * 4 != os.fstat(self._fd).st_size - self._offset:
            raise _corrupt(index_dir, f"{EXACT_VECTORS} is not a float32 matrix of its file's size")
        self.shape, self.dtype = shape, dtype
        self._row_bytes = shape[1] * 4

    def __len__(self) -> int:
        return self.shape[0]

    def _read(self, start: int, stop: int) -> np.ndarray:
        data = os.pread(self._fd, (stop - start) * self._row_bytes, self._offset + start * self._row_bytes)
        return np.frombuffer(data, dtype=np.float32).reshape(-1, self.shape[1])

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            return self._read(start, max(start, stop))[::step]
        rows = np.asarray(key, dtype=np.int64)
        if rows.ndim == 0:
            return self[[int(rows)]][0]
        rows = np.where(rows < 0, rows + len(self), rows)
        if len(rows) and (rows.min() < 0 or rows.max() >= len(self)):
            raise IndexError(f"rows out of range 0..{len(self) - 1}")
        out = np.empty((len(rows), self.shape[1]), dtype=np.float32)
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        # Consecutive rows in one read.
        for run in np.split(np.arange(len(rows)), np.flatnonzero(np.diff(ordered) != 1) + 1):
            if len(run):
                out[order[run]] = self._read(int(ordered[run[0]]), int(ordered[run[-1]]) + 1)
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self[0:len(self)]
        return whole if dtype is None else whole.astype(dtype)


def _read_vectors(files: dict, manifest: dict, index_dir: Path):
    import faiss

    search = manifest["search"]
    kinds = {"flat": faiss.IndexScalarQuantizer, "ivf": faiss.IndexIVFScalarQuantizer}
    if search.get("kind") not in kinds or (search["kind"] == "ivf" and not (isinstance(search.get("probe"), int) and search["probe"] >= 1)):
        raise _corrupt(index_dir, f"{MANIFEST} names a search it does not know: {search!r}")
    try:
        with files[VECTORS] as handle:
            handle.seek(0)  # hashed when opened
            search_index = faiss.read_index(faiss.PyCallbackIOReader(handle.read, 1 << 20))
    except RuntimeError as exc:
        raise _corrupt(index_dir, f"{VECTORS} cannot be read") from exc
    if not isinstance(search_index, kinds[search["kind"]]):
        raise _corrupt(index_dir, f"{VECTORS} is not the {search['kind']} index the manifest says")
    return search_index, Vectors(files[EXACT_VECTORS], index_dir), search["probe"] if search["kind"] == "ivf" else 0


# --- reading the directory --------------------------------------------------


def files_of(manifest: dict, index_dir: Path) -> list[str]:
    """Every file of an index, as its manifest names them (inside it only)."""
    names = manifest.get("lexical", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and re.fullmatch(r"lexical/\w[\w.-]*", n) for n in names):
        raise _corrupt(index_dir, "the manifest's list of lexical files is not valid")
    return [DOCUMENTS, DOCUMENT_ROWS, PASSAGES, PASSAGE_ROWS, PEOPLE, VECTORS, EXACT_VECTORS, *names]


def _snapshot(index_dir: Path) -> tuple[dict, dict]:
    """The manifest and every file it names, opened through one descriptor of
    the directory: a writer that swaps a new version in meanwhile cannot make
    us read files of two versions. Each file is checked against the manifest's
    size, and hash up to `HASH_UP_TO` bytes, before it is parsed (a damaged
    FAISS header can make it allocate gigabytes); the small files are then
    memory-mapped, the rest kept open to be read a row at a time."""
    for attempt in range(_READ_ATTEMPTS):
        _read_manifest_between_swaps(index_dir)
        try:
            directory = os.open(index_dir, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:  # a writer between the two renames of its swap
            time.sleep(0.05 * (attempt + 1))
            continue
        try:
            manifest = _parse_manifest(_read_manifest_at(directory, index_dir), index_dir)
            recorded = manifest["files"]
            files = {name: _map_at(directory, name, index_dir, recorded.get(name), mapped=name not in _READ_BY_ROW)
                     for name in files_of(manifest, index_dir)}
            return manifest, files
        except FileNotFoundError as missing:
            try:
                same = os.stat(index_dir).st_ino == os.fstat(directory).st_ino
            except OSError:
                same = False
            if same:  # not a writer's swap: the file is not there
                raise _corrupt(index_dir, f"{missing.filename} is missing") from None
        finally:
            os.close(directory)
        time.sleep(0.05 * (attempt + 1))
    raise _corrupt(index_dir, "it kept changing while being read")


def _read_manifest_at(directory: int, index_dir: Path) -> bytes:
    with _open_at(directory, MANIFEST, index_dir) as f:
        try:
            check_size(f, MAX_MANIFEST_BYTES, MANIFEST)
        except TooLargeError as exc:
            raise _corrupt(index_dir, str(exc)) from None
        return f.read(MAX_MANIFEST_BYTES)


def _open_at(directory: int, name: str, index_dir: Path):
    try:
        return open_regular(name, dir_fd=directory)
    except FileNotFoundError as exc:
        exc.filename = name
        raise
    except NotAFileError as exc:
        raise _corrupt(index_dir, str(exc)) from None


def _map_at(directory: int, name: str, index_dir: Path, recorded, *, mapped: bool = True):
    """The file, checked against the manifest's record of it: its bytes when
    it is small enough to hash (they are read anyway), else a memory map, or
    the open file for the files read a row at a time."""
    f = _open_at(directory, name, index_dir)
    size = os.fstat(f.fileno()).st_size
    data = f.read() if size <= HASH_UP_TO and mapped else None
    if data is not None:
        digest = hashlib.sha256(data).hexdigest()
    elif size <= HASH_UP_TO:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    else:
        digest = None  # too large to hash at every opening: its size is checked, and each row when read
    if not isinstance(recorded, dict) or recorded.get("size") != size or (digest and digest != recorded.get("sha256")):
        f.close()
        raise _corrupt(index_dir, f"{name} is not the file the manifest recorded (changed, truncated or replaced)")
    if not mapped:
        return f  # closed when the index is dropped
    with f:
        return data if data is not None else mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def fingerprint(path: Path) -> dict:
    """Size and SHA-256 of a file, as the manifest records them."""
    with open(path, "rb") as f:
        return {"size": os.fstat(f.fileno()).st_size, "sha256": hashlib.file_digest(f, "sha256").hexdigest()}


def _read_manifest_between_swaps(index_dir: Path) -> dict:
    """The manifest, waiting out a writer that is between the two renames of
    its swap (the index is missing for an instant), and recovering the old copy
    only when no writer comes back to finish."""
    for attempt in range(_READ_ATTEMPTS):
        swapping = not index_dir.exists() and any(index_dir.parent.glob(f".{index_dir.name}.old-*"))
        if not swapping:
            try:
                return read_manifest(index_dir)
            except IndexFormatError:
                writers = [*index_dir.parent.glob(f".{index_dir.name}.tmp-*"), *index_dir.parent.glob(f".{index_dir.name}.old-*")]
                if attempt == _READ_ATTEMPTS - 1 or not writers:
                    raise
        time.sleep(0.05 * (attempt + 1))
    _recover_interrupted_swap(index_dir)
    return read_manifest(index_dir)


def _recover_interrupted_swap(index_dir: Path) -> None:
    """A crash between the two renames of a swap leaves only the old copy."""
    if index_dir.exists() or not index_dir.parent.is_dir():
        return
    olds = sorted(index_dir.parent.glob(f".{index_dir.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and (olds[-1] / MANIFEST).exists():
        os.rename(olds[-1], index_dir)


def _corrupt(index_dir: Path, why: str) -> IndexFormatError:
    why = " ".join(why.split())  # one line, whatever a damaged file held
    return IndexFormatError(f"{index_dir}: index is corrupt ({why}); rebuild it with: rag index PATH... --index {index_dir}")


def read_manifest(index_dir: Path) -> dict:
    if not index_dir.is_dir():
        raise IndexFormatError(f"{index_dir}: no index here (build one with: rag index PATH... --index {index_dir})")
    try:
        data = read_regular(index_dir / MANIFEST, MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        raise IndexFormatError(f"{index_dir}: not an index (no {MANIFEST}); build one with: rag index PATH... --index {index_dir}") from None
    except (NotAFileError, TooLargeError) as exc:
        raise _corrupt(index_dir, str(exc).replace(f"{index_dir}/", "")) from None
    except OSError as exc:
        raise IndexFormatError(f"{index_dir}: cannot read {MANIFEST} ({exc.strerror or exc})") from None
    return _parse_manifest(data, index_dir)


def _parse_manifest(data: bytes, index_dir: Path) -> dict:
    try:
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _corrupt(index_dir, f"{MANIFEST} is not valid JSON") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _corrupt(index_dir, f"{MANIFEST} is not a rag index manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(
            f"{index_dir}: index format version {manifest.get('format_version')} is not supported "
            f"(this version reads {FORMAT_VERSION}); rebuild it with: rag index PATH... --index {index_dir}"
        )
    for key, kind in (("model", str), ("dim", int), ("chunker_version", str), ("passages", int), ("documents", dict),
                      ("files", dict), ("search", dict), ("lexical", list)):
        if not isinstance(manifest.get(key), kind):
            raise _corrupt(index_dir, f"{MANIFEST} lacks a valid '{key}'")
    return manifest


def stored_documents(index_dir: Path) -> list[Document]:
    """Documents kept in an index that can no longer be used as is (say, built
    with another model or an older format), so it can be rebuilt without the
    original files. Empty when they cannot be read."""
    try:
        with open_regular(index_dir / DOCUMENTS) as f:
            rows = f.read().splitlines()
        return [Document(r["id"], r["text"], r["title"], r["source"]) for r in map(json.loads, filter(None, rows))]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return []


def recorded_documents(index_dir: Path) -> dict[str, str] | None:
    """Each document's SHA-256 as the manifest records it, whatever the index's
    format or model; None when the manifest cannot be read."""
    try:
        catalog = json.loads(read_regular(index_dir / MANIFEST, MAX_MANIFEST_BYTES))["documents"]
        return {str(doc_id): str(d["sha256"]) for doc_id, d in catalog.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
