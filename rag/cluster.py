"""Cluster: embedding a large collection on a Ray cluster, with Ray Data.

`build_index(..., ray="local")` or `ray="HOST:PORT"` (`rag index --ray
[ADDRESS]`) chunks the documents, a group at a time, and embeds each batch of
passages on a Ray cluster: a local one of this machine's CPUs, or the cluster
at ADDRESS. Every worker runs the same chunker and the same ONNX embedder as a
local build (loaded once per actor), so the passages and vectors are the ones
a local build makes; they come back in order, to be written and saved for a
resume as in a local build. Without `ray`, nothing imports Ray. An ADDRESS is
checked first (HOST:PORT, where a gRPC server answers as a Ray head does), and
Ray's wait to join it is bounded: a wrong one is one line in seconds, where Ray
alone would wait for minutes without a word.

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
import re
import socket
from contextlib import contextmanager

import numpy as np

from .errors import MissingDependencyError, ModelError, one_line

MISSING = "embedding on Ray needs Ray Data: pip install -e '.[ray]'"
# Texts sent to a worker at a time.
WORKER_BATCH = 256
ADDRESS = re.compile(r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\s:/\[\]]+)):(?P<port>[0-9]{1,5})")
# Seconds an address has to accept a connection, and then to answer.
PROBE_SECONDS = 3
# A gRPC server, as Ray's GCS is, answers the HTTP/2 client preface (and an
# empty SETTINGS frame) with a SETTINGS frame of its own: frame type 4.
HTTP2_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000")
SETTINGS = 4
# Left to itself, Ray retries a cluster that does not answer for about 15
# minutes (20 attempts of 5 + 5 + 30 s); these make it one attempt of at most
# 20 s. Ray reads the first two when it is imported, the last as it connects.
CONNECT_LIMITS = {"RAY_gcs_rpc_server_connect_timeout_s": "5", "RAY_py_gcs_connect_timeout_s": "10",
                  "RAY_gcs_server_port_wait_time_s": "1"}


class RayEmbedder:
    """The configured model (fp32 or int8) run by a pool of Ray actors."""

    def __init__(self, address: str, *, name: str, dim: int, int8: bool = False):
        for key, value in (("RAY_USAGE_STATS_ENABLED", "0"), ("RAY_AUTH_MODE", "disabled"),
                           ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0"), ("RAY_BACKEND_LOG_LEVEL", "fatal"),
                           ("RAY_DATA_LOG_LEVEL", "ERROR")):
            os.environ.setdefault(key, value)  # before Ray is imported: it reads them then
        if address != "local":
            check_address(address)
        with _connect_limits(address):
            try:
                import ray
                import ray.data
            except ImportError as exc:
                raise MissingDependencyError(MISSING) from exc
            self._started = not ray.is_initialized()
            if self._started:
                _init(ray, address)
        self.name, self.dim, self.int8 = name, dim, int8
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

        from .chunking import Chunked, Passage
        from .speakers import Person

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


def check_address(address: str) -> None:
    """Raise `ModelError` unless `address` is HOST:PORT and a gRPC server, as a
    Ray cluster's head is, answers there: Ray waits on anything else for minutes
    without a word."""
    found = ADDRESS.fullmatch(address)
    if not found or not 1 <= int(found["port"]) <= 65535:
        raise ModelError(f"{address!r} is not a Ray cluster address: give HOST:PORT with a port from 1 to 65535 "
                         "(an IPv6 host in brackets, [::1]:6379), or 'local' for a cluster of this machine")
    try:
        conn = socket.create_connection((found["ipv6"] or found["host"], int(found["port"])), timeout=PROBE_SECONDS)
    except OSError as exc:  # refused, unreachable, no answer in time, or a host name that does not resolve
        raise ModelError(f"nothing answers at {address} ({exc.strerror or exc}): start the cluster there "
                         "(ray start --head) or correct the address") from None
    with conn:
        why = _not_grpc(conn)
    if why:
        raise ModelError(f"{address} accepts connections but is not a Ray cluster ({why}): give its head node's "
                         "address, as ray start --head prints it (port 6379 unless set)")


def _not_grpc(conn: socket.socket) -> str | None:
    """Why the server at the other end of `conn` is not a gRPC server, or None."""
    if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
        return None  # the cluster then expects a TLS handshake first, which only Ray makes
    try:
        conn.sendall(HTTP2_HELLO)
        frame = conn.recv(9, socket.MSG_WAITALL)
    except TimeoutError:
        return f"no answer in {PROBE_SECONDS} s"
    except OSError as exc:  # reset by the server
        return exc.strerror or str(exc)
    if not frame:
        return "it closed the connection"
    return None if len(frame) == 9 and frame[3] == SETTINGS else "its answer is not Ray's"


@contextmanager
def _connect_limits(address: str):
    """`CONNECT_LIMITS` (unless set already) while Ray is imported and joins the
    cluster at `address`; taken back after, so that the processes of a local
    cluster started later keep Ray's own."""
    added = {} if address == "local" else {k: v for k, v in CONNECT_LIMITS.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            del os.environ[key]


def _init(ray, address: str) -> None:
    """Start a local cluster or join the one at `address`, or raise `ModelError`."""
    # A local cluster on a busy machine can miss Ray's fixed 30 s wait for its
    # raylet to register; a second start then succeeds.
    for attempt in range(2 if address == "local" else 1):
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                     **({"num_cpus": os.cpu_count()} if address == "local" else {}))
            return
        except Exception as exc:  # Ray raises ConnectionError and others for a cluster it cannot reach
            ray.shutdown()
            if attempt == 0 and address == "local" and "timed out during startup" in str(exc):
                continue
            if address == "local":
                raise ModelError(f"cannot start a local Ray cluster ({type(exc).__name__}: {one_line(exc)})") from None
            raise ModelError(f"cannot join the Ray cluster at {address} ({type(exc).__name__}: {one_line(exc)}): "
                             f"check that it is up (ray status there) and runs Ray {ray.__version__}, as here") from None


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
