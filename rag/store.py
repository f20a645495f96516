"""Store: the index on disk, built, updated and opened.

An index is a directory you can open and read:

- `manifest.json`: format name and version, model name, embedding dimension,
  chunker version, each document's id, title, source and SHA-256, and each
  file's size and SHA-256 (checked on open: a changed, truncated or swapped file
  is refused before it is parsed);
- `documents.jsonl`: one document a line, with its full text and the people
  found in it (so the index can be rebuilt without the original files);
- `passages.jsonl`: one passage a line: document id, offsets, text, speaker;
- `vectors.faiss`: a flat inner-product FAISS index, row i for passage line i;
- `lexical/`: the BM25 index over the passages and the documents' lexicon (see
  `lexical`), so that opening an index does not tokenise every passage and
  embed every word again.

No pickle anywhere. Writes go to a temporary sibling directory that replaces the
old one only when complete, so a crash or a failed build leaves the previous index
as it was. A reader reads each file once and checks it against the manifest, so
it never mixes two versions of an index that a writer swaps in meanwhile.
Rebuilding an index re-embeds only new or changed documents.

Left out: approximate FAISS indexes (flat search is exact and fast enough for
tens of thousands of passages), concurrent writers (last one wins).
"""

import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from . import config, lexical
from .chunking import CHUNKER_VERSION, Passage, Person, chunk, index_text
from .documents import Document, load_documents, without_surrogates
from .embedding import Embedder, default_embedder, embedder_for, known_models
from .errors import DocumentError, IndexFormatError

log = logging.getLogger("rag")

FORMAT = "rag-index"
FORMAT_VERSION = 1
# Readings of an index that a writer keeps swapping before giving up.
_READ_ATTEMPTS = 5
# A temporary write folder older than this was left by a killed writer.
STALE_WRITE_SECONDS = 3600
MANIFEST, DOCUMENTS, PASSAGES, VECTORS = "manifest.json", "documents.jsonl", "passages.jsonl", "vectors.faiss"


@dataclass
class Index:
    """An opened index: documents, passages and their vectors, in memory."""

    path: Path | None
    model: str
    dim: int
    documents: dict[str, Document]
    people: dict[str, list[Person]]
    passages: list[Passage]
    vectors: np.ndarray
    derived: dict = field(default_factory=dict, repr=False)  # search structures built on first use

    def speaker_of(self, passage: Passage) -> Person | None:
        """The person who says `passage`, as its document introduced them."""
        return next((p for p in self.people.get(passage.doc_id, ()) if p.name == passage.speaker), None)

    def role_of(self, passage: Passage) -> str:
        speaker = self.speaker_of(passage)
        return speaker.role if speaker else ""

    def rows_by(self, key: str) -> dict[str, list[int]]:
        """Passage rows grouped by a passage field ("doc_id", "speaker"); rows
        where it is empty are left out. Built once per index."""
        if f"rows_by_{key}" not in self.derived:
            rows: dict[str, list[int]] = {}
            for row, passage in enumerate(self.passages):
                if value := getattr(passage, key):
                    rows.setdefault(value, []).append(row)
            self.derived[f"rows_by_{key}"] = rows
        return self.derived[f"rows_by_{key}"]

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

    def faiss(self):
        if "faiss" not in self.derived:
            import faiss

            flat = faiss.IndexFlatIP(self.dim)
            flat.add(self.vectors)
            self.derived["faiss"] = flat
        return self.derived["faiss"]


def build_index(sources, index_dir, *, embedder: Embedder | None = None, progress: bool = False,
                int8: bool = False) -> Index:
    """Index `sources` (paths or `Document`s) into `index_dir` and return it.

    `int8` embeds with the quantised model: about twice as fast to build, at a
    small cost in retrieval quality (see BENCHMARKS.md).

    If `index_dir` already holds an index built with the same model and chunker,
    documents whose text is unchanged keep their vectors; documents not among
    `sources` are dropped. The directory is replaced only once the new index is
    completely written.
    """
    index_dir = Path(index_dir).expanduser()
    docs = _collect(sources)
    embedder = embedder or default_embedder(int8=int8)
    _check_writable_target(index_dir)

    reuse: dict[str, tuple[list[Passage], np.ndarray, list[Person]]] = {}
    try:
        old = open_index(index_dir, model=embedder.name)
        rows_of = old.rows_by("doc_id")
        for doc in docs:
            prev = old.documents.get(doc.id)
            if prev is not None and prev.sha256 == doc.sha256:
                rows = rows_of.get(doc.id, [])
                reuse[doc.id] = ([old.passages[i] for i in rows], old.vectors[rows], old.people.get(doc.id, []))
        previous_lexicon = old.derived.get("lexicon")
    except IndexFormatError:
        previous_lexicon = None  # nothing reusable; the directory is replaced below

    people: dict[str, list[Person]] = {}
    passages: list[Passage] = []
    vector_parts: list[np.ndarray] = []
    pending: list[tuple[int, str]] = []  # (row, text to embed)
    todo = docs
    if progress and len(docs) > 1:
        from tqdm import tqdm

        todo = tqdm(docs, desc="reading", unit="doc")
    for doc in todo:
        if doc.id in reuse:
            kept, vecs, people[doc.id] = reuse[doc.id]
            passages.extend(kept)
            vector_parts.append(vecs)
            continue
        chunked = chunk(doc.id, doc.text)
        people[doc.id] = chunked.people
        roles = {p.name: p.role for p in chunked.people}
        for passage in chunked.passages:
            pending.append((len(passages), index_text(passage, roles.get(passage.speaker or "", ""))))
            passages.append(passage)
        vector_parts.append(np.zeros((len(chunked.passages), embedder.dim), dtype=np.float32))

    vectors = np.concatenate(vector_parts) if vector_parts else np.zeros((0, embedder.dim), np.float32)
    if pending:
        if progress:
            log.info("embedding %d passages from %d documents", len(pending), len(docs) - len(reuse))
        vectors[[row for row, _ in pending]] = embedder.encode([t for _, t in pending], progress=progress)
    if not passages:
        raise DocumentError("nothing to index: the documents contain no sentences")

    index = Index(index_dir, embedder.name, embedder.dim, {d.id: d for d in docs}, people, passages, vectors)
    index.derived["embedder"] = embedder  # questions (and the lexicon's words) must be embedded by the same model
    index.derived["previous lexicon"] = previous_lexicon
    _write(index, index_dir)
    return index


def open_index(index_dir, *, model: str | None = None) -> Index:
    """Open an index directory, checking it is whole and built for `model`
    (default: the configured embedding model)."""
    index_dir = Path(index_dir).expanduser()
    # The manifest the files were checked against: a writer may swap in a newer one meanwhile.
    manifest, data = _snapshot(index_dir, _read_manifest_between_swaps(index_dir))
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
        documents, people = {}, {}
        # Each file's bytes are let go once parsed: they and what they become never all coexist.
        for row in _parse_jsonl(data.pop(DOCUMENTS), index_dir / DOCUMENTS):
            documents[row["id"]] = Document(row["id"], row["text"], row["title"], row["source"])
            people[row["id"]] = [Person(**p) for p in row["people"]]
        passages = [
            Passage(r["doc_id"], r["text"], r["start"], r["end"], speaker=r["speaker"],
                    sentences=tuple((s, e) for s, e in r["sentences"]))
            for r in _parse_jsonl(data.pop(PASSAGES), index_dir / PASSAGES)
        ]
        vectors = _parse_vectors(data.pop(VECTORS), index_dir / VECTORS, manifest["dim"])
        saved = {n.split("/", 1)[1]: data[n] for n in _lexical_files(manifest, index_dir)}
        bm25 = lexical.from_files(saved) if saved else None
        lex = lexical.lexicon_from_files(saved) if lexical.LEXICON in saved else None
    except (KeyError, TypeError, ValueError) as exc:
        raise _corrupt(index_dir, f"unexpected content ({type(exc).__name__}: {exc})") from exc
    if set(documents) != set(manifest["documents"]):
        raise _corrupt(index_dir, "documents.jsonl does not match the manifest")
    if len(passages) != manifest["passages"] or len(vectors) != len(passages):
        raise _corrupt(index_dir, f"{len(passages)} passages and {len(vectors)} vectors, manifest says {manifest['passages']}")
    for p in passages:
        doc = documents.get(p.doc_id)
        if not (isinstance(p.start, int) and isinstance(p.end, int) and isinstance(p.text, str)):
            raise _corrupt(index_dir, "passages.jsonl has a passage whose offsets or text are of the wrong type")
        if doc is None or not isinstance(doc.text, str) or doc.text[p.start:p.end] != p.text:
            raise _corrupt(index_dir, f"passage offsets do not match document '{p.doc_id}'")
    opened = Index(index_dir, manifest["model"], manifest["dim"], documents, people, passages, vectors)
    if bm25 is not None:
        if bm25.scores["num_docs"] != len(passages):
            raise _corrupt(index_dir, f"its lexical index holds {bm25.scores.get('num_docs')} passages, not {len(passages)}")
        opened.derived["bm25"] = bm25
    if lex is not None:
        opened.derived["lexicon"] = lex
    return opened


def default_index() -> Index:
    """The index in the default directory, built from the bundled article when it
    is missing or unreadable, and rebuilt when the model, the chunker or the
    bundled article changed (with a one-line notice on stderr)."""
    path = config.default_index_dir()
    bundled = load_documents([config.BUNDLED_ARTICLE])
    try:
        index = open_index(path)
    except IndexFormatError as exc:
        reason = "missing" if not (path / MANIFEST).exists() else str(exc).split(": ", 1)[-1].split(";")[0]
        docs = _stored_documents(path)
        if not docs and not _holds_only(path, {d.id for d in bundled}):
            raise  # someone's own index that cannot be read: reported, never replaced by the article
        docs = docs or bundled
        log.warning("rag: building the index in %s (%s); this takes a few seconds, once", path, reason)
        return build_index(docs, path)
    fresh = {d.id: d for d in bundled}
    stale = [d for d in index.documents.values() if d.source == fresh.get(d.id, d).source and d.id in fresh
             and d.sha256 != fresh[d.id].sha256]
    if stale:
        log.warning("rag: the bundled article changed; rebuilding the index in %s", path)
        return build_index([fresh.get(d.id, d) for d in index.documents.values()], path)
    return index


# --- writing ---------------------------------------------------------------


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


def _check_writable_target(index_dir: Path) -> None:
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexFormatError(f"{index_dir}: exists and is not a directory")
    if index_dir.is_dir() and any(index_dir.iterdir()) and not (index_dir / MANIFEST).exists():
        raise IndexFormatError(
            f"{index_dir}: directory is not empty and holds no rag index; choose a new or empty directory"
        )


def _write(index: Index, index_dir: Path) -> None:
    import faiss

    index_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_writes(index_dir)
    tmp = index_dir.with_name(f".{index_dir.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        with open(tmp / DOCUMENTS, "w", encoding="utf-8") as f:
            for doc in index.documents.values():
                row = {"id": doc.id, "title": doc.title, "source": doc.source, "sha256": doc.sha256,
                       "people": [asdict(p) for p in index.people.get(doc.id, [])], "text": doc.text}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        with open(tmp / PASSAGES, "w", encoding="utf-8") as f:
            for p in index.passages:
                row = {"doc_id": p.doc_id, "start": p.start, "end": p.end, "speaker": p.speaker,
                       "sentences": [list(s) for s in p.sentences], "text": p.text}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        flat = faiss.IndexFlatIP(index.dim)
        flat.add(index.vectors)
        faiss.write_index(flat, str(tmp / VECTORS))
        lexical.save(lexical.bm25_of(index), tmp / lexical.DIRECTORY)
        lexical.save_lexicon(lexical.lexicon(index), tmp / lexical.DIRECTORY, index.embedder(), index.derived.pop("previous lexicon", None),
                             embed=len(index.passages) >= lexical.EMBED_LEXICON_FROM_PASSAGES)
        lexical_files = sorted(f"{lexical.DIRECTORY}/{p.name}" for p in (tmp / lexical.DIRECTORY).iterdir())
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "model": index.model, "dim": index.dim,
            "chunker_version": CHUNKER_VERSION, "passages": len(index.passages),
            "documents": {d.id: {"title": d.title, "source": d.source, "sha256": d.sha256}
                          for d in index.documents.values()},
            "files": {name: _fingerprint((tmp / name).read_bytes())
                      for name in (DOCUMENTS, PASSAGES, VECTORS, *lexical_files)},
            "lexical": lexical_files,
        }
        # The manifest is written last: a directory without one is never taken for an index.
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        for name in (DOCUMENTS, PASSAGES, VECTORS, *lexical_files, MANIFEST):
            with open(tmp / name, "rb") as f:
                os.fsync(f.fileno())
        _swap(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    index.derived["faiss"] = flat


def _fingerprint(data: bytes) -> dict:
    """Size and SHA-256 of a file's bytes, as the manifest records them."""
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _snapshot(index_dir: Path, manifest: dict) -> tuple[dict, dict[str, bytes]]:
    """The bytes of every file, with the manifest that recorded them.

    Read once and checked against the manifest's sizes and hashes, so a file
    changed, truncated or replaced is refused before it is parsed (a damaged
    FAISS header can make it allocate gigabytes), and a reader never mixes two
    versions: if a writer swaps the index in mid-read, the reading starts again.
    Indexes written before the manifest kept fingerprints are read unchecked."""
    for attempt in range(_READ_ATTEMPTS):
        data = {name: _read_bytes(index_dir / name) for name in (DOCUMENTS, PASSAGES, VECTORS, *_lexical_files(manifest, index_dir))}
        files = manifest.get("files")
        if not isinstance(files, dict):
            return manifest, data
        bad = [name for name, blob in data.items() if not isinstance(files.get(name), dict)
               or any(files[name].get(key) != value for key, value in _fingerprint(blob).items())]
        if not bad:
            return manifest, data
        now = _read_manifest(index_dir)
        if now == manifest:
            raise _corrupt(index_dir, f"{bad[0]} is not the file the manifest recorded (changed, truncated or replaced)")
        manifest = now  # a writer swapped the index in while we read: read the new one whole
        time.sleep(0.05 * (attempt + 1))
    raise _corrupt(index_dir, "it kept changing while being read")


def _lexical_files(manifest: dict, index_dir: Path) -> list[str]:
    """The files of `lexical/`, as the manifest names them (inside it only)."""
    names = manifest.get("lexical", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and re.fullmatch(r"lexical/\w[\w.-]*", n) for n in names):
        raise _corrupt(index_dir, "the manifest's list of lexical files is not valid")
    return names


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise _corrupt(path.parent, f"{path.name} is missing") from None
    except IsADirectoryError:
        raise _corrupt(path.parent, f"{path.name} is a directory") from None


def _remove_stale_writes(index_dir: Path) -> None:
    """Remove what writers killed mid-write left behind. A write lasts seconds
    (the embedding happens before it), so an hour-old one is nobody's."""
    for stale in index_dir.parent.glob(f".{index_dir.name}.tmp-*"):
        try:
            if time.time() - stale.stat().st_mtime > STALE_WRITE_SECONDS:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass  # another writer removed it first


def _swap(tmp: Path, target: Path) -> None:
    if not target.exists():
        os.rename(tmp, target)
        return
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(target, old)
    os.rename(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def _read_manifest_between_swaps(index_dir: Path) -> dict:
    """The manifest, waiting out a writer that is between the two renames of
    `_swap` (the index is missing for an instant), and recovering the old copy
    only when no writer comes back to finish."""
    for attempt in range(_READ_ATTEMPTS):
        swapping = not index_dir.exists() and any(index_dir.parent.glob(f".{index_dir.name}.old-*"))
        if not swapping:
            try:
                return _read_manifest(index_dir)
            except IndexFormatError:
                if attempt == _READ_ATTEMPTS - 1 or not any(index_dir.parent.glob(f".{index_dir.name}.*-*")):
                    raise
        time.sleep(0.05 * (attempt + 1))
    _recover_interrupted_swap(index_dir)
    return _read_manifest(index_dir)


def _recover_interrupted_swap(index_dir: Path) -> None:
    """A crash between the two renames of `_swap` leaves only the old copy."""
    if index_dir.exists() or not index_dir.parent.is_dir():
        return
    olds = sorted(index_dir.parent.glob(f".{index_dir.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and (olds[-1] / MANIFEST).exists():
        os.rename(olds[-1], index_dir)


# --- reading ---------------------------------------------------------------


def _corrupt(index_dir: Path, why: str) -> IndexFormatError:
    return IndexFormatError(f"{index_dir}: index is corrupt ({why}); rebuild it with: rag index PATH... --index {index_dir}")


def _read_manifest(index_dir: Path) -> dict:
    if not index_dir.is_dir():
        raise IndexFormatError(f"{index_dir}: no index here (build one with: rag index PATH... --index {index_dir})")
    try:
        manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexFormatError(f"{index_dir}: not an index (no {MANIFEST}); build one with: rag index PATH... --index {index_dir}") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _corrupt(index_dir, f"{MANIFEST} is not valid JSON") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _corrupt(index_dir, f"{MANIFEST} is not a rag index manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(
            f"{index_dir}: index format version {manifest.get('format_version')} is not supported "
            f"(this version reads {FORMAT_VERSION}); rebuild it with: rag index PATH... --index {index_dir}"
        )
    for key, kind in (("model", str), ("dim", int), ("chunker_version", str), ("passages", int), ("documents", dict)):
        if not isinstance(manifest.get(key), kind):
            raise _corrupt(index_dir, f"{MANIFEST} lacks a valid '{key}'")
    return manifest


def _read_jsonl(path: Path) -> list[dict]:
    return list(_parse_jsonl(_read_bytes(path), path))


def _parse_jsonl(data: bytes, path: Path):
    """The rows, one at a time: a large file is never held as text and rows at once."""
    import io

    try:
        for line in io.BytesIO(data):
            if line.strip():
                yield json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: hostile nesting
        raise _corrupt(path.parent, f"{path.name} is not valid JSON lines") from exc


def _parse_vectors(data: bytes, path: Path, dim: int) -> np.ndarray:
    import faiss

    try:
        flat = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
    except RuntimeError as exc:
        raise _corrupt(path.parent, f"{path.name} cannot be read") from exc
    if flat.d != dim:
        raise _corrupt(path.parent, f"{path.name} has dimension {flat.d}, manifest says {dim}")
    vectors = flat.reconstruct_n(0, flat.ntotal) if flat.ntotal else np.zeros((0, dim), np.float32)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1)
    # Embeddings are unit length (a text with no words may embed to zero); anything else is damage.
    unit_or_zero = np.isclose(norms, 1.0, atol=1e-3) | (norms == 0)
    if not np.isfinite(vectors).all() or not unit_or_zero.all() or (len(norms) and not norms.any()):
        raise _corrupt(path.parent, f"{path.name} holds vectors that are not embeddings (zeroed, NaN or scaled)")
    return vectors


def _holds_only(index_dir: Path, doc_ids: set[str]) -> bool:
    """Whether the directory has no index yet, or one of just these documents."""
    if not (index_dir / MANIFEST).exists() and not any(index_dir.glob("*.jsonl")):
        return True
    try:
        return set(_read_manifest(index_dir)["documents"]) <= doc_ids
    except IndexFormatError:
        return False


def _stored_documents(index_dir: Path) -> list[Document]:
    """Documents kept in an index that can no longer be used as is (say, built
    with another model), so it can be rebuilt without the original files."""
    try:
        return [Document(r["id"], r["text"], r["title"], r["source"]) for r in _read_jsonl(index_dir / DOCUMENTS)]
    except (IndexFormatError, KeyError, TypeError):
        return []
