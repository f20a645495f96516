"""Milvus: an index's passages searched in a Milvus collection.

With `build_index(..., milvus=URI)` (`rag index --store milvus URI`), each
passage goes into a Milvus collection (`backends.Row`: its vector, BM25 terms, text,
document id and title, offsets and speaker), and retrieval runs there: dense inner-product search and BM25 full-text search
(Milvus's BM25 function over the terms `lexical.terms` makes, so both stores
rank by the same words), fused by the engine's RRF reranker (k=60, as the
local store fuses). URI is a file path for embedded Milvus Lite, or
`http://host:19530` for a Milvus server; `MILVUS_TOKEN` in the environment is
sent to a server that asks for one (`user:password` or an API key).

The index directory keeps the manifest, which names the URI and the
collection, and everything else a local index holds (passages, documents,
vectors, the lexicon): answers read passages there, and retrieval only asks
Milvus. Each build writes a new collection; the manifest then points to it and
the previous one is dropped, so readers never see half of a rebuild. A search
whose database or collection is gone says so, with the command that rebuilds
the index; it never lets Milvus Lite make an empty database in its place.

Left out: storing documents in Milvus, sharded or partitioned collections,
Milvus's own embedding functions.
"""

import logging
import re
import threading
import uuid
from pathlib import Path
from typing import Iterable

import numpy as np

from . import config
from .backends import RRF_K, Hit, Row
from .errors import IndexFormatError, MissingDependencyError, one_line
from .lexical import terms

log = logging.getLogger("rag")

MISSING = "the Milvus store needs pymilvus and milvus-lite: pip install -e '.[milvus]'"
INSERT_AT_ONCE = 2048
# Milvus's BM25 with the parameters bm25s uses (Lucene's variant).
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}
MAX_VARCHAR = 65535  # bytes of UTF-8

_clients: dict[str, object] = {}
_lock = threading.Lock()


def client(uri: str):
    """One client per URI per process (Milvus Lite lets one process open a database)."""
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise MissingDependencyError(MISSING) from exc
    with _lock:
        if uri not in _clients:
            # Milvus Lite logs a traceback when it cannot open its database
            # (another process has it); the one-line error below says so.
            logging.getLogger("milvus_lite").setLevel(logging.CRITICAL)
            try:
                _clients[uri] = MilvusClient(uri=uri, token=config.milvus_token())
            except Exception as exc:  # pymilvus raises its own types for a server that is down or a locked file
                if is_lite(uri):
                    raise IndexFormatError(
                        f"cannot open the Milvus Lite database {uri}: Milvus Lite lets one process at a time open it, "
                        "so another process (a chat page, a build) may have it; for several, run a Milvus server") from None
                raise IndexFormatError(f"cannot reach Milvus at {uri} ({type(exc).__name__}: {one_line(exc)})") from None
        return _clients[uri]


def is_lite(uri: str) -> bool:
    """Whether `uri` is a Milvus Lite database (a path), not a server's address."""
    return not re.match(r"\w+://", uri)


def new_collection_name(index_name: str) -> str:
    return f"rag_{re.sub(r'[^0-9A-Za-z_]', '_', index_name)[:40]}_{uuid.uuid4().hex[:8]}"


def terms_text(terms: list[str]) -> str:
    """Terms as Milvus's standard analyzer splits them back: one word each."""
    return fit(" ".join(re.sub(r"\W+", "_", t) for t in terms), MAX_VARCHAR)


def fit(text: str, limit: int) -> str:
    """`text` cut to `limit` bytes of UTF-8, the unit of Milvus's VARCHAR lengths."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def write(uri: str, collection: str, dim: int, rows: Iterable[Row], *, approximate: bool = False) -> None:
    """Create `collection` and insert `rows`. Vectors are searched exhaustively,
    or, `approximate`, by an HNSW graph (as the local index switches to IVF for
    large collections)."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    milvus = client(uri)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("terms", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=1024)
    schema.add_field("title", DataType.VARCHAR, max_length=1024)
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    schema.add_field("speaker", DataType.VARCHAR, max_length=1024)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=["terms"], output_field_names=["sparse"]))
    indexes = milvus.prepare_index_params()
    if approximate:
        indexes.add_index(field_name="vector", index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 200})
    else:
        indexes.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    indexes.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25_PARAMS)
    milvus.create_collection(collection, schema=schema, index_params=indexes)
    try:
        batch = []
        for r in rows:
            batch.append({"row": r.row, "vector": np.asarray(r.vector, dtype=np.float32).tolist(),
                          "terms": terms_text(r.terms) or "_", "text": fit(r.text, MAX_VARCHAR), "doc_id": r.doc_id,
                          "title": fit(r.title, 1024), "start": r.start, "end": r.end,
                          "speaker": fit(r.speaker or "", 1024)})
            if len(batch) == INSERT_AT_ONCE:
                milvus.insert(collection, batch)
                batch = []
        if batch:
            milvus.insert(collection, batch)
        milvus.flush(collection)
        milvus.load_collection(collection)
    except BaseException:
        drop(uri, collection)
        raise


def drop(uri: str, collection: str) -> None:
    try:
        client(uri).drop_collection(collection)
    except Exception as exc:  # already gone, or the server is down: the old collection only costs space
        log.warning("rag: could not drop Milvus collection %s (%s)", collection, one_line(exc))


class Milvus:
    """The `backends.Backend` of an index whose passages are in a Milvus collection."""

    def __init__(self, uri: str, collection: str):
        self.uri, self.collection = uri, collection
        self._loaded = False

    def location(self) -> dict:
        return {"kind": "milvus", "uri": self.uri, "collection": self.collection}

    def write(self, rows: Iterable[Row], *, dim: int, approximate: bool) -> None:
        write(self.uri, self.collection, dim, rows, approximate=approximate)

    def drop(self) -> None:
        drop(self.uri, self.collection)

    def search(self, index, question: str, query_vector: np.ndarray, n: int, mode: str) -> list[Hit]:
        from pymilvus import AnnSearchRequest, RRFRanker

        milvus = self._open(index)
        words = terms_text(terms(question))
        dense_params = {"metric_type": "IP", "params": {"ef": max(64, 2 * n)}}  # ef: read by HNSW only
        dense = AnnSearchRequest([query_vector.tolist()], "vector", dense_params, limit=n)
        lexical = AnnSearchRequest([words], "sparse", {"metric_type": "BM25"}, limit=n)
        try:
            if mode == "dense" or (mode == "hybrid" and not words):
                found = milvus.search(self.collection, data=[query_vector.tolist()], anns_field="vector", limit=n,
                                      search_params=dense_params)
            elif mode == "lexical":
                found = milvus.search(self.collection, data=[words], anns_field="sparse", limit=n,
                                      search_params={"metric_type": "BM25"}) if words else [[]]
            else:
                found = milvus.hybrid_search(self.collection, reqs=[dense, lexical], ranker=RRFRanker(RRF_K), limit=n)
        except Exception as exc:
            self._check_collection(milvus, index)  # dropped since it was opened: say so
            raise self._failed("search", exc) from None
        rows = [int(h["row"] if "row" in h else h["id"]) for h in found[0]]
        scores = [float(h["distance"]) for h in found[0]]
        if mode == "hybrid" and words:
            fused = scores
        else:  # one list: its rank, as the local store's RRF would score it
            fused = [1.0 / (RRF_K + rank + 1) for rank in range(len(rows))]
        cosines = index.vectors[rows] @ query_vector if rows else []
        return [Hit(r, s, float(c), 0.0) for r, s, c in zip(rows, fused, cosines)]

    def _open(self, index):
        """The client, the collection checked and loaded the first time."""
        if self._loaded:
            return client(self.uri)
        if is_lite(self.uri) and not Path(self.uri).exists():  # Milvus Lite would make a new, empty one there
            raise IndexFormatError(f"{index.path}: its Milvus Lite database {self.uri} is gone; "
                                   f"rebuild it with: {self._rebuild(index)}")
        milvus = client(self.uri)
        self._check_collection(milvus, index)
        try:
            milvus.load_collection(self.collection)  # a reopened Milvus Lite database starts with its collections released
        except Exception as exc:
            raise self._failed("load", exc) from None
        self._loaded = True
        return milvus

    def _check_collection(self, milvus, index) -> None:
        try:
            there = milvus.has_collection(self.collection)
        except Exception as exc:  # a server gone down
            raise self._failed("look for", exc) from None
        if not there:
            raise IndexFormatError(f"{index.path}: its Milvus collection {self.collection} is gone from {self.uri}; "
                                   f"rebuild it with: {self._rebuild(index)}")

    def _rebuild(self, index) -> str:
        return f"rag index PATH... --index {index.path} --store milvus {self.uri}"

    def _failed(self, doing: str, exc: Exception) -> IndexFormatError:
        return IndexFormatError(f"Milvus at {self.uri} could not {doing} {self.collection} "
                                f"({type(exc).__name__}: {one_line(exc)})")
