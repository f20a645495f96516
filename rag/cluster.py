"""Cluster: embedding a large collection on a Ray cluster, with Ray Data.

`build_index(..., ray="local")` or `ray="HOST:PORT"` (`rag index --ray
[ADDRESS]`) chunks the documents, a group at a time, and embeds each batch of
passages on a Ray cluster: a local one of this machine's CPUs, or the cluster
at ADDRESS. Every worker runs the same chunker and the same ONNX embedder as a
local build (loaded once per actor), so the passages and vectors are the ones
a local build makes; they come back in order, to be written and saved for a
resume as in a local build. Without `ray`, nothing imports Ray.

A local cluster is kept to this machine: no dashboard, no usage statistics,
no token file, bound to 127.0.0.1; the settings below are only defaults, so a
cluster you run yourself keeps its own.

Left out: reading files on the cluster (they are read here, and sent to it),
shipping the project to workers that do not have it installed (a cluster's
runtime environment does).
"""

import json
import logging
import os

import numpy as np

from .errors import MissingDependencyError, ModelError, one_line

MISSING = "embedding on Ray needs Ray Data: pip install -e '.[ray]'"
# Texts sent to a worker at a time.
WORKER_BATCH = 256


class RayEmbedder:
    """The configured model (fp32 or int8) run by a pool of Ray actors."""

    def __init__(self, address: str, *, name: str, dim: int, int8: bool = False):
        for key, value in (("RAY_USAGE_STATS_ENABLED", "0"), ("RAY_AUTH_MODE", "disabled"),
                           ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0"), ("RAY_BACKEND_LOG_LEVEL", "fatal"),
                           ("RAY_DATA_LOG_LEVEL", "ERROR")):
            os.environ.setdefault(key, value)  # before Ray is imported: it reads them then
        try:
            import ray
            import ray.data
        except ImportError as exc:
            raise MissingDependencyError(MISSING) from exc
        self.name, self.dim, self.int8 = name, dim, int8
        self._started = not ray.is_initialized()
        # A local cluster on a busy machine can miss Ray's fixed 30 s wait for its
        # raylet to register; a second start then succeeds.
        attempts = (2 if address == "local" else 1) if self._started else 0
        for attempt in range(attempts):
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                         **({"num_cpus": os.cpu_count()} if address == "local" else {}))
                break
            except Exception as exc:  # Ray raises ConnectionError and others for a cluster it cannot reach
                ray.shutdown()
                if attempt == 0 and address == "local" and "timed out during startup" in str(exc):
                    continue
                raise ModelError(f"cannot start or reach the Ray cluster at {address} "
                                 f"({type(exc).__name__}: {one_line(exc)})") from None
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.execution_options.preserve_order = True
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))

    def encode(self, texts, *, progress: bool = False) -> np.ndarray:
        import ray.data

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        items = [{"row": i, "text": t} for i, t in enumerate(texts)]
        done = ray.data.from_items(items).map_batches(
            _EmbedInt8 if self.int8 else _Embed, batch_size=WORKER_BATCH,
            compute=ray.data.ActorPoolStrategy(size=min(self.workers, max(1, len(texts) // WORKER_BATCH))),
            num_cpus=1).take_all()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for item in done:  # in order already; placed by row all the same
            out[int(item["row"])] = item["vector"]
        return out

    def chunk(self, docs) -> list:
        """`chunking.chunk` of each document, on the cluster, in order."""
        import ray.data

        from .chunking import Chunked, Passage, Person

        if not docs:
            return []
        items = [{"row": i, "id": d.id, "text": d.text} for i, d in enumerate(docs)]
        done = ray.data.from_items(items).map_batches(_chunk, batch_size=64, num_cpus=1).take_all()
        out: list = [None] * len(docs)
        for item in done:
            found = json.loads(item["chunked"])
            out[int(item["row"])] = Chunked([Passage(**p, sentences=tuple(map(tuple, s))) for p, s in found["passages"]],
                                            [Person(**p) for p in found["people"]])
        return out

    def close(self) -> None:
        """Stop the cluster this embedder started (never one it joined)."""
        if self._started:
            import ray

            ray.shutdown()


def _chunk(batch: dict) -> dict:
    """Chunk a batch of documents (as JSON: Ray's blocks hold plain columns)."""
    from dataclasses import asdict

    from .chunking import chunk

    out = []
    for doc_id, text in zip(batch["id"], batch["text"]):
        found = chunk(str(doc_id), str(text))
        out.append(json.dumps({
            "passages": [({k: v for k, v in asdict(p).items() if k != "sentences"}, p.sentences) for p in found.passages],
            "people": [asdict(p) for p in found.people]}))
    return {"row": batch["row"], "chunked": out}


class _Embed:
    """One Ray actor: the model, loaded once."""

    int8 = False

    def __init__(self):
        from .embedding import default_embedder

        self.embedder = default_embedder(int8=self.int8)

    def __call__(self, batch: dict) -> dict:
        texts = [str(t) for t in batch["text"]]
        return {"row": batch["row"], "vector": self.embedder.encode(texts)}


class _EmbedInt8(_Embed):
    int8 = True
