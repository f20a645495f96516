"""Indexing: documents in, an index directory (see `store`) out.

`build_index` chunks the documents, writing passages to disk as it goes, then
embeds the passages of new or changed documents in batches of `BATCH`, written
to the vectors' file as they come, so memory holds the documents, the BM25 build and one
batch, not a vector per passage. Documents whose text is unchanged since the
index was last built keep their vectors.

Everything is written into a temporary sibling directory that replaces the old
index only when complete, so a crash or a failed build leaves the previous
index as it was. Each batch of embeddings is also saved in a resume folder
(`.NAME.resume-KEY`, KEY naming the model, the chunker and the documents to
embed; each batch's file names a hash of its texts); a build that is killed and started again with the same documents loads
those batches instead of embedding them again, and the folder is removed once
the index is in place.

Up to `APPROXIMATE_FROM` passages, a question is compared with every vector
(FAISS, as 8-bit codes, the best re-scored with the exact ones); beyond, by
an IVF index with 8-bit codes, whose number of lists probed is chosen at build
time to find at least `TARGET_RECALL` of the exact 10 nearest neighbours of
sampled passages.

Left out: concurrent writers (last one wins), embedding on several machines.
"""

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from typing import Callable
from array import array
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from . import backends, config, lexical
from .chunking import CHUNKER_VERSION, Passage, chunk, index_text
from .documents import Document, load_documents, without_surrogates
from .embedding import Embedder, default_embedder
from .errors import DocumentError, IndexFormatError
from .speakers import Person
from .store import (DOCUMENT_ROWS, DOCUMENTS, EXACT_VECTORS, FORMAT, FORMAT_VERSION, MANIFEST, PASSAGE_ROWS, PASSAGES,
                    PEOPLE, VECTORS, Index, Vectors, fingerprint, open_index, recorded_documents,
                    stored_documents)

log = logging.getLogger("rag")

# Passages embedded (and saved for a resume) at a time.
BATCH = 4096
# Passages embedded between two calls of `build_index`'s on_progress (a page's bar moves).
REPORT_EVERY = 256
# Documents chunked at a time (all at once on a cluster).
CHUNK_GROUP = 1024
SEARCHES = ("auto", "exact", "approximate")
# From this many passages "auto" searches approximately: exact search would
# take over 30 ms a question on two cores.
APPROXIMATE_FROM = 250_000
TARGET_RECALL = 0.97
# A temporary write folder older than this, or whose writer is gone, was left by a killed writer.
STALE_WRITE_SECONDS = 3600


def build_index(sources, index_dir, *, embedder: Embedder | None = None, progress: bool = False,
                on_progress: Callable[[int, int], None] | None = None, int8: bool = False, search: str = "auto",
                milvus: str | None = None, ray: str | None = None) -> Index:
    """Index `sources` (paths or `Document`s) into `index_dir` and return it.

    `progress` shows bars on the terminal; `on_progress(done, total)` is told,
    every few hundred passages, how many of the passages to embed are embedded.

    `int8` embeds with the quantised model: about 3.5 times as fast to build, at a
    small cost in retrieval quality (see BENCHMARKS.md). `search` is "exact",
    "approximate" or "auto" (approximate from `APPROXIMATE_FROM` passages).
    `milvus`, a Milvus URI (a file path for Milvus Lite), puts the passages'
    vectors and terms in a new collection there, searched instead of the local
    FAISS and BM25 indexes (see `rag.milvus`). `ray`, "local" or a Ray
    cluster's address, embeds the passages on that cluster (see `rag.cluster`).

    If `index_dir` already holds an index built with the same model and chunker,
    documents whose text is unchanged keep their vectors; documents not among
    `sources` are dropped.
    """
    if search not in SEARCHES:
        raise ValueError(f"search must be one of {SEARCHES}, not {search!r}")
    index_dir = _target(index_dir)
    docs = _collect(sources)
    if ray is not None and embedder is not None:
        raise ValueError("a build on Ray embeds with the configured model: leave out embedder")
    embedder = embedder or default_embedder(int8=int8)
    _check_writable_target(index_dir)
    backend = _backend_for_build(milvus, index_dir.name)
    try:
        old = open_index(index_dir, model=embedder.name)
    except IndexFormatError:
        old = None  # nothing reusable; the directory is replaced below
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_writes(index_dir)
    tmp = index_dir.with_name(f".{index_dir.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    (tmp / "writer.pid").write_text(str(os.getpid()))
    cluster = writer = None
    try:
        if ray is not None:
            from .cluster import RayEmbedder

            cluster = RayEmbedder(ray, name=embedder.name, dim=embedder.dim, int8=int8)
        writer = _Writer(tmp, docs, old, cluster or embedder, progress, on_progress)
        writer.write(index_dir, search, backend)
        (tmp / "writer.pid").unlink()
        _swap(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if writer is not None and writer.wrote:
            backend.drop()
        raise
    finally:
        if cluster is not None:
            cluster.close()
    if old is not None and old.store != backend.location():
        old.backend.drop()  # readers now open the new one
    for folder in index_dir.parent.glob(f".{index_dir.name}.resume-*"):
        shutil.rmtree(folder, ignore_errors=True)  # this build's, and those of builds never resumed
    index = open_index(index_dir, model=embedder.name)
    index.derived["embedder"] = embedder  # questions (and the lexicon's words) must be embedded by the same model
    return index


def _backend_for_build(milvus: str | None, index_name: str) -> backends.Backend:
    """Where a new build's passages are searched: a new collection at the Milvus
    URI `milvus` (the extra and the server checked now, before any work), else
    the index's own files."""
    if milvus is None:
        return backends.Local()
    from . import milvus as engine

    engine.client(milvus)  # a missing extra or a server that is down: said before any work
    return engine.Milvus(milvus, engine.new_collection_name(index_name))


def default_index() -> Index:
    """The index in the default directory, built from the bundled article when it
    is missing, and rebuilt when the model, the chunker or the bundled article
    changed (with a one-line notice on stderr). Someone's own index that cannot
    be read is reported, never rebuilt from what remains of it."""
    path = config.default_index_dir()
    bundled = load_documents([config.BUNDLED_ARTICLE])
    try:
        index = open_index(path)
    except IndexFormatError as exc:
        docs = _documents_to_rebuild(path, bundled)
        if docs is None:
            raise
        reason = "missing" if not (path / MANIFEST).exists() else str(exc).split(": ", 1)[-1].split(";")[0]
        log.warning("rag: building the index in %s (%s); this takes a few seconds, once", path, reason)
        return build_index(docs, path)
    fresh = {d.id: d for d in bundled}
    stale = [doc_id for doc_id, d in index.catalog.items() if doc_id in fresh and d.get("source") == fresh[doc_id].source
             and d.get("sha256") != fresh[doc_id].sha256]
    if stale:
        log.warning("rag: the bundled article changed; rebuilding the index in %s", path)
        return build_index([fresh.get(d.id, d) for d in index.documents.values()], path)
    return index


def _documents_to_rebuild(path: Path, bundled: list[Document]) -> list[Document] | None:
    """What a default index that cannot be opened is built again from: the
    bundled article, when there is no index yet or one of the article alone;
    the index's own stored documents, when every one its manifest records is
    there unchanged (an index of another model, chunker or format). None for
    anything else: rebuilding from part of someone's documents loses the rest."""
    bundled_ids = {d.id for d in bundled}
    if not (path / MANIFEST).exists() and not any(path.glob("*.jsonl")):
        return bundled
    recorded, stored = recorded_documents(path), stored_documents(path)
    if recorded is None:  # only the article's own documents tell what the index held
        return bundled if stored and {d.id for d in stored} <= bundled_ids else None
    if stored and {d.id: d.sha256 for d in stored} == recorded:
        return stored
    return bundled if set(recorded) <= bundled_ids else None


class _Writer:
    """One build: the files of an index written into `tmp`."""

    def __init__(self, tmp: Path, docs: list[Document], old: Index | None, embedder: Embedder, progress: bool,
                 on_progress: Callable[[int, int], None] | None = None):
        self.tmp, self.docs, self.old, self.embedder, self.progress = tmp, docs, old, embedder, progress
        self.on_progress = on_progress
        self.people: dict[str, list[Person]] = {}
        self.speakers: dict[str, list[int]] = {}
        self.passage_starts = array("q", [0])
        self.doc_rows = array("q", [0, 0])  # (line start in documents.jsonl, first passage row) per document
        self.to_embed = array("q")          # rows whose passages need embedding, in order
        self.reused: list[tuple[int, range]] = []  # (first new row, old rows) of unchanged documents
        self.bm25_terms: list[list[str]] = []
        self.vocabulary: dict[str, str] = {}
        self.chunked: list[tuple[str, str]] = []  # (id, SHA-256) of the documents whose passages are embedded
        self.store: dict | None = None  # the backend's location, for the manifest
        self.wrote = False  # whether the backend was given rows (to drop on failure)

    def write(self, index_dir: Path, search: str, backend: backends.Backend) -> None:
        """Write every file of the index into the temporary folder, and the
        passages to `backend` (a Milvus collection; the local one reads the files)."""
        self._write_passages()
        n = len(self.passage_starts) - 1
        if n == 0:
            raise DocumentError("nothing to index: the documents contain no sentences")
        resume = index_dir.with_name(f".{index_dir.name}.resume-{self._resume_key()}")
        with _VectorFile(self.tmp / EXACT_VECTORS, n, self.embedder.dim) as vectors:
            for first, rows in self.reused:
                for start in range(rows.start, rows.stop, 8192):
                    stop = min(rows.stop, start + 8192)
                    vectors.write(np.arange(first + start - rows.start, first + stop - rows.start), self.old.vectors[start:stop])
            self._embed(vectors, resume)
            approximate = search == "approximate" or (search == "auto" and n >= APPROXIMATE_FROM)
            search_params = _write_ivf(vectors, self.tmp / VECTORS) if approximate else _write_flat(vectors, self.tmp / VECTORS)
            self._write_backend(backend, vectors, approximate)
        self._write_lexical(n)
        self._write_manifest(n, search_params)

    def _write_passages(self) -> None:
        bar = None
        if self.progress and len(self.docs) > 1:
            from tqdm import tqdm

            bar = tqdm(total=len(self.docs), desc="reading", unit="doc")
        old_rows = self.old.rows_by("doc_id") if self.old else {}

        def unchanged(doc: Document) -> bool:
            return doc.id in old_rows and self.old.catalog.get(doc.id, {}).get("sha256") == doc.sha256

        with open(self.tmp / DOCUMENTS, "wb") as doc_file, open(self.tmp / PASSAGES, "wb") as passage_file:
            for start in range(0, len(self.docs), CHUNK_GROUP):
                group = self.docs[start:start + CHUNK_GROUP]
                fresh = [d for d in group if not unchanged(d)]
                chunking = getattr(self.embedder, "chunk", None)  # a cluster chunks there too (see `cluster`)
                chunked = dict(zip((d.id for d in fresh), chunking(fresh) if chunking else (chunk(d.id, d.text) for d in fresh)))
                for doc in group:
                    self._write_document(doc, chunked.get(doc.id), old_rows, doc_file, passage_file)
                    if bar is not None:
                        bar.update(1)
        if bar is not None:
            bar.close()

    def _write_document(self, doc: Document, chunked, old_rows, doc_file, passage_file) -> None:
        row = len(self.passage_starts) - 1
        if chunked is None:
            rows = old_rows[doc.id]
            passages = [self.old.passages[r] for r in rows]
            people = self.old.people.get(doc.id, [])
            self.reused.append((row, rows))
        else:
            passages, people = chunked.passages, chunked.people
            self.chunked.append((doc.id, doc.sha256))
            self.to_embed.extend(range(row, row + len(passages)))
        self.people[doc.id] = people
        roles = {p.name: p.role for p in people}
        doc_file.write(_line({"id": doc.id, "title": doc.title, "source": doc.source, "sha256": doc.sha256,
                              "people": [asdict(p) for p in people], "text": doc.text}))
        for p in passages:
            if p.speaker:
                self.speakers.setdefault(p.speaker, []).append(row)
            passage_file.write(_line({"doc_id": p.doc_id, "start": p.start, "end": p.end, "speaker": p.speaker,
                                      "sentences": [list(s) for s in p.sentences], "text": p.text}))
            self.passage_starts.append(passage_file.tell())
            found = lexical.passage_terms(p, roles.get(p.speaker or "", ""), doc.title)
            # One string per distinct term, not per occurrence: a large corpus has millions.
            self.bm25_terms.append([self.vocabulary.setdefault(t, t) for t in found] or [""])
            row += 1
        self.doc_rows.extend((doc_file.tell(), row))

    def _resume_key(self) -> str:
        """Names what is embedded, batch by batch: the same key, the same batches."""
        digest = hashlib.sha256(f"{self.embedder.name}\n{CHUNKER_VERSION}\n{BATCH}\n".encode())
        for doc_id, sha256 in self.chunked:
            digest.update(f"{doc_id}\0{sha256}\n".encode())
        return digest.hexdigest()[:16]

    def _embed(self, vectors: "_VectorFile", resume: Path) -> None:
        todo = np.frombuffer(self.to_embed, dtype=np.int64) if len(self.to_embed) else np.zeros(0, np.int64)
        if not len(todo):
            return
        bar = None
        if self.progress:
            from tqdm import tqdm

            log.info("embedding %d passages", len(todo))
            bar = tqdm(total=len(todo), desc="embedding", unit="passage", smoothing=0.1)
        texts = _PassageTexts(self.tmp / PASSAGES, self.passage_starts, self.people)
        for number, start in enumerate(range(0, len(todo), BATCH)):
            rows = todo[start:start + BATCH]
            batch_texts = [texts[r] for r in rows]
            # Named by its texts too: a batch is reused only for exactly these texts.
            digest = hashlib.sha256("\0".join(batch_texts).encode("utf-8", "surrogatepass")).hexdigest()[:16]
            saved = resume / f"{number:06d}-{digest}.npy"
            batch = _load_batch(saved, len(rows), self.embedder.dim)
            if batch is None:
                # In slices only when someone is told how far it is: a cluster spreads a whole batch.
                step = REPORT_EVERY if self.on_progress else len(batch_texts)
                batch = np.concatenate([self._encode(batch_texts[at:at + step], start + at, len(todo))
                                        for at in range(0, len(batch_texts), step)])
                _save_atomically(saved, batch)
            elif self.on_progress:  # embedded by an earlier, interrupted build
                self.on_progress(start + len(rows), len(todo))
            vectors.write(rows, batch)
            os.utime(self.tmp)  # a live write: not stale to other writers
            if bar is not None:
                bar.update(len(rows))
        if bar is not None:
            bar.close()
        texts.file.close()

    def _encode(self, texts: list[str], done: int, total: int) -> np.ndarray:
        vectors = np.asarray(self.embedder.encode(texts), dtype=np.float32)
        if self.on_progress:
            self.on_progress(done + len(texts), total)
        return vectors

    def _write_backend(self, backend: backends.Backend, vectors: "_VectorFile", approximate: bool) -> None:
        self.store = backend.location()
        titles = {d.id: d.title for d in self.docs}

        def rows():
            with open(self.tmp / PASSAGES, "rb") as f:
                for start, chunk_ in vectors.chunks():
                    for i, vector in enumerate(chunk_):
                        p = json.loads(f.readline())
                        yield backends.Row(start + i, vector, self.bm25_terms[start + i], p["text"], p["doc_id"],
                                           titles[p["doc_id"]], p["start"], p["end"], p["speaker"])

        self.wrote = True
        backend.write(rows(), dim=self.embedder.dim, approximate=approximate)

    def _write_lexical(self, n: int) -> None:
        directory = self.tmp / lexical.DIRECTORY
        lexical.save(lexical.build_from_terms(self.bm25_terms), directory)
        self.bm25_terms, self.vocabulary = [], {}
        words = lexical.build_lexicon(self.docs, self.people)
        previous = self.old.derived.get("lexicon") if self.old else None
        lexical.save_lexicon(words, directory, self.embedder, previous, embed=n >= lexical.EMBED_LEXICON_FROM_PASSAGES)

    def _write_manifest(self, n: int, search: dict) -> None:
        with open(self.tmp / PEOPLE, "w", encoding="utf-8") as f:
            json.dump({"people": {d: [asdict(p) for p in found] for d, found in self.people.items() if found},
                       "speakers": self.speakers}, f, ensure_ascii=False)
        np.save(self.tmp / PASSAGE_ROWS, np.frombuffer(self.passage_starts, dtype=np.int64), allow_pickle=False)
        np.save(self.tmp / DOCUMENT_ROWS, np.frombuffer(self.doc_rows, dtype=np.int64).reshape(-1, 2), allow_pickle=False)
        lexical_files = sorted(f"{lexical.DIRECTORY}/{p.name}" for p in (self.tmp / lexical.DIRECTORY).iterdir())
        names = [DOCUMENTS, DOCUMENT_ROWS, PASSAGES, PASSAGE_ROWS, PEOPLE, VECTORS, EXACT_VECTORS, *lexical_files]
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "model": self.embedder.name, "dim": self.embedder.dim,
            "chunker_version": CHUNKER_VERSION, "passages": n, "search": search,
            **({"store": self.store} if self.store else {}),
            "documents": {d.id: {"title": d.title, "source": d.source, "sha256": d.sha256} for d in self.docs},
            "files": {name: fingerprint(self.tmp / name) for name in names},
            "lexical": lexical_files,
        }
        # The manifest is written last: a directory without one is never taken for an index.
        (self.tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        for name in (*names, MANIFEST):
            with open(self.tmp / name, "rb") as f:
                os.fsync(f.fileno())


class _PassageTexts:
    """The text to embed for a row, read back from the passages just written."""

    def __init__(self, path: Path, starts: array, people: dict[str, list[Person]]):
        self.file, self.starts, self.people = open(path, "rb"), starts, people

    def __getitem__(self, row) -> str:
        self.file.seek(self.starts[row])
        r = json.loads(self.file.read(self.starts[row + 1] - self.starts[row]))
        passage = Passage(r["doc_id"], r["text"], r["start"], r["end"], speaker=r["speaker"])
        roles = {p.name: p.role for p in self.people.get(passage.doc_id, ())}
        return index_text(passage, roles.get(passage.speaker or "", ""))


def _line(row: dict) -> bytes:
    return (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")


def _load_batch(path: Path, rows: int, dim: int) -> np.ndarray | None:
    """A batch saved by an earlier, interrupted build, if it is whole."""
    try:
        batch = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    return batch if batch.dtype == np.float32 and batch.shape == (rows, dim) and np.isfinite(batch).all() else None


def _save_atomically(path: Path, array_: np.ndarray) -> None:
    """Save a batch for a resume; a build of the same documents running at the
    same time (or removing the folder when it ends) only costs the saving."""
    part = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")
    try:
        path.parent.mkdir(exist_ok=True)
        with open(part, "wb") as f:
            np.save(f, array_, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(part, path)
    except FileNotFoundError:
        pass


# --- vector search structures ----------------------------------------------


class _VectorFile(Vectors):
    """`vectors.npy` being written: `store.Vectors` (rows read through the
    file, not a memory map, so its pages stay in the page cache rather than in
    the build's memory) that can also put rows."""

    def __init__(self, path: Path, n: int, dim: int):
        import io

        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (n, dim)})
        file = open(path, "w+b")
        file.write(header.getvalue())
        file.truncate(len(header.getvalue()) + n * dim * 4)
        file.flush()
        super().__init__(file, path.parent)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._file.flush()
        os.fsync(self._fd)
        self._file.close()

    def write(self, rows: np.ndarray, values: np.ndarray) -> None:
        """Put `values` at `rows` (ascending), a run of consecutive rows at a time."""
        values = np.ascontiguousarray(values, dtype=np.float32)
        for run in np.split(np.arange(len(rows)), np.flatnonzero(np.diff(rows) != 1) + 1):
            if len(run):
                data, at = memoryview(values[run].tobytes()), self._offset + int(rows[run[0]]) * self._row_bytes
                while data:  # a short write (a signal, a full disk) writes the rest, or raises
                    written = os.pwrite(self._fd, data, at)
                    data, at = data[written:], at + written

    def chunks(self, size: int = 8192):
        for start in range(0, len(self), size):
            yield start, self[start:start + size]


def _write_flat(vectors: _VectorFile, path: Path) -> dict:
    """Every vector compared, as 8-bit codes (each dimension's range learnt from
    a sample; a quarter of the vectors' memory); `Index.nearest` re-scores the
    best twice as many as asked with the exact vectors, so the codes only need
    to find them, not to order them."""
    import faiss

    n, dim = vectors.shape
    flat = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    flat.train(vectors[np.sort(rng.choice(n, size=min(n, 16_384), replace=False))])  # ranges need no more
    for _, chunk_ in vectors.chunks():
        flat.add(chunk_)
    faiss.write_index(flat, str(path))
    return {"kind": "flat", "codes": "int8"}


def _write_ivf(vectors: _VectorFile, path: Path) -> dict:
    """An IVF index with 8-bit scalar codes (a quarter of the vectors' size),
    and the fewest lists to probe that find `TARGET_RECALL` of sampled
    passages' exact 10 nearest neighbours once re-scored as `Index.nearest` does."""
    import faiss

    n, dim = vectors.shape
    lists = max(1, min(int(2 * np.sqrt(n)), n // 39))  # FAISS wants 39 training points a list
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(n, size=min(n, 64 * lists), replace=False))
    ivf = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, lists, faiss.ScalarQuantizer.QT_8bit,
                                        faiss.METRIC_INNER_PRODUCT)
    ivf.cp.min_points_per_centroid = 1  # a small index forced to IVF trains on what it has, without a warning
    ivf.train(vectors[sample])
    for _, chunk_ in vectors.chunks():
        ivf.add(chunk_)
    probe, recall = _choose_probe(ivf, vectors, rng)
    faiss.write_index(ivf, str(path))
    return {"kind": "ivf", "codes": "int8", "lists": lists, "probe": probe, "sampled_recall_at_10": round(recall, 4)}


def _choose_probe(ivf, vectors: _VectorFile, rng, *, queries: int = 200, k: int = 10, pool: int = 100) -> tuple[int, float]:
    """The fewest lists to probe, doubling from one, for sampled passages'
    neighbours (a neighbour tied in score with the exact k-th counts as found)."""
    import faiss

    n = len(vectors)
    k = min(k, n - 1)
    if k < 1:
        return 1, 1.0
    rows = np.sort(rng.choice(n, size=min(n, queries), replace=False))
    q = vectors[rows]
    best = np.full((len(rows), k + 1), -np.inf, dtype=np.float32)
    for _, chunk_ in vectors.chunks():  # exact scores, a slice of the vectors at a time
        best = -np.sort(-np.concatenate([best, q @ chunk_.T], axis=1), axis=1)[:, :k + 1]
    # A passage is its own nearest neighbour: the k others after it are the ones to find.
    kth = best[:, k] - 1e-5
    probe = 1
    while True:
        _, found = ivf.search(q, min(pool, n), params=faiss.SearchParametersIVF(nprobe=probe))
        hits = 0
        for i, (candidates, own) in enumerate(zip(found, rows)):
            candidates = np.sort(candidates[(candidates >= 0) & (candidates != own)])
            scores = -np.sort(-(vectors[candidates] @ q[i]))[:k]
            hits += int((scores >= kth[i]).sum())
        recall = hits / (k * len(rows))
        if recall >= TARGET_RECALL or probe >= ivf.nlist:
            return probe, recall
        probe = min(2 * probe, ivf.nlist)


# --- files and folders -------------------------------------------------------


def _collect(sources) -> list[Document]:
    if isinstance(sources, (str, os.PathLike, Document)):
        sources = [sources]
    sources = list(sources)
    paths = [s for s in sources if not isinstance(s, Document)]
    docs = [s for s in sources if isinstance(s, Document)] + (load_documents(paths) if paths else [])
    docs = [replace(d, text=without_surrogates(d.text), title=without_surrogates(d.title or ""))
            if isinstance(d.text, str) and isinstance(d.title or "", str) else d for d in docs]
    if not docs:
        raise DocumentError("nothing to index: no documents given")
    seen = set()
    for doc in docs:
        if not isinstance(doc.id, str) or not doc.id:
            raise DocumentError("every document needs a non-empty string id")
        if doc.id in seen:
            raise DocumentError(f"two documents have the id '{doc.id}'")
        if not doc.text.strip():
            raise DocumentError(f"document '{doc.id}' has no text")
        seen.add(doc.id)
    return docs


def _target(index_dir) -> Path:
    """The index directory as an absolute path with a name: it is swapped in
    by renaming a sibling folder, which "" or "/" do not have."""
    text = os.fspath(index_dir) if isinstance(index_dir, (str, os.PathLike)) else None
    if not isinstance(text, str) or not text.strip() or "\x00" in text:
        raise IndexFormatError(f"{text!r} is not a directory name; name the index's folder, e.g. --index my-index")
    path = Path(text).expanduser().absolute()
    if not path.name or path.name in (".", ".."):
        raise IndexFormatError(f"{text}: an index needs a folder of its own; name one, e.g. --index my-index")
    return path


def _check_writable_target(index_dir: Path) -> None:
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexFormatError(f"{index_dir}: exists and is not a directory")
    if index_dir.is_dir() and any(index_dir.iterdir()) and not (index_dir / MANIFEST).exists():
        raise IndexFormatError(
            f"{index_dir}: directory is not empty and holds no rag index; choose a new or empty directory"
        )


def _remove_stale_writes(index_dir: Path) -> None:
    """Remove what writers killed mid-write left behind: folders whose writer
    process is gone, or, when it is not known, untouched for an hour."""
    for stale in index_dir.parent.glob(f".{index_dir.name}.tmp-*"):
        try:
            alive = _writer_alive(stale)
            if alive is False or (alive is None and time.time() - stale.stat().st_mtime > STALE_WRITE_SECONDS):
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass  # another writer removed it first


def _writer_alive(folder: Path) -> bool | None:
    """Whether the process that writes `folder` still runs; None when unknown."""
    try:
        pid = int((folder / "writer.pid").read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _swap(tmp: Path, target: Path) -> None:
    if not target.exists():
        os.rename(tmp, target)
        return
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(target, old)
    os.rename(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


