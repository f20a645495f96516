"""Embedding on a real local Ray cluster of 2 CPUs: the same index as a local build;
and an address where no Ray cluster answers: one line in seconds, not a wait of minutes."""

import json
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import pytest

import rag
from rag import MissingDependencyError, build_index
from rag.config import BUNDLED_ARTICLE
from tests.test_milvus import DATA

pytest.importorskip("ray.data", reason="the ray extra: pip install -e '.[ray]'")
pytestmark = [pytest.mark.extra, pytest.mark.slow]


def test_a_build_on_ray_gives_the_local_builds_vectors_and_answers(tmp_path, embedder, article_index):
    sources = [BUNDLED_ARTICLE, DATA / "ferry.txt"]
    on_ray = build_index(sources, tmp_path / "ray", ray="local")
    local = build_index(sources, tmp_path / "local", embedder=embedder)
    assert list(on_ray.passages) == list(local.passages) and len(on_ray.passages) == 34  # chunked there the same
    assert on_ray.people == local.people and on_ray.rows_by("speaker") == local.rows_by("speaker")
    np.testing.assert_allclose(np.asarray(on_ray.vectors), np.asarray(local.vectors), atol=1e-6)
    manifests = [json.loads((tmp_path / d / "manifest.json").read_text()) for d in ("ray", "local")]
    assert manifests[0]["model"] == manifests[1]["model"] == embedder.name
    question = "What did Pistorius say about international law?"
    assert rag.ask(question, on_ray).text == rag.ask(question, local).text == rag.ask(question, article_index).text

    import ray

    assert not ray.is_initialized()  # the local cluster it started is stopped


def test_ray_takes_the_configured_model_and_a_missing_extra_says_what_to_install(tmp_path, hashing, monkeypatch):
    import sys

    with pytest.raises(ValueError, match="leave out embedder"):
        build_index([BUNDLED_ARTICLE], tmp_path / "ix", embedder=hashing, ray="local")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(MissingDependencyError, match=r"pip install -e '\.\[ray\]'"):
        build_index([BUNDLED_ARTICLE], tmp_path / "ix", ray="local")
    assert not (tmp_path / "ix").exists()


# What fake servers send on each connection they accept (None: nothing, ever).
ANSWERS = {"silent": None, "garbage": b"HTTP/1.1 400 Bad Request\r\n\r\n",
           "gRPC, not Ray": bytes.fromhex("000000040000000000")}  # an empty HTTP/2 SETTINGS frame, then nothing


@contextmanager
def listening(answer: bytes | None):
    """A server on a loopback port that accepts connections, sends `answer` and
    holds them open; yields its address."""
    server = socket.create_server(("127.0.0.1", 0))
    held = []

    def accept():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # closed: the test is over
                return
            held.append(conn)
            if answer:
                conn.sendall(answer)

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for conn in held:
            conn.close()


def index_on_ray(address: str, tmp_path: Path) -> subprocess.CompletedProcess:
    rag_cmd = Path(sys.executable).with_name("rag")
    # The timeout only stops a hang: Ray used to wait on such addresses for up to 15 minutes.
    return subprocess.run([str(rag_cmd), "index", str(DATA / "ferry.txt"), "--index", str(tmp_path / "ix"),
                           "--ray", address], capture_output=True, text=True, timeout=120)


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize("where, says", [
    ("127.0.0.1:1", "nothing answers at 127.0.0.1:1 (Connection refused): start the cluster there"),
    ("silent", "accepts connections but is not a Ray cluster (no answer in 3 s): give its head node's address"),
    ("garbage", "accepts connections but is not a Ray cluster (its answer is not Ray's)"),
    ("127.0.0.1:99999", "'127.0.0.1:99999' is not a Ray cluster address: give HOST:PORT with a port from 1 to 65535"),
    ("[::1]:1", "nothing answers at [::1]:1"),
], ids=["closed port", "silent", "garbage", "port 99999", "IPv6 closed port"])
def test_an_address_where_no_ray_cluster_answers_is_one_line_at_once(tmp_path, where, says):
    if where.startswith("[::1]") and not ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    with listening(ANSWERS[where]) if where in ANSWERS else nullcontext(where) as address:
        out = index_on_ray(address, tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    [line] = out.stderr.splitlines()
    assert line.startswith("rag: error: ") and says in line
    assert list(tmp_path.iterdir()) == []  # no index, and no folder of a build begun


def test_ray_gives_up_on_a_grpc_server_that_is_not_a_ray_cluster(tmp_path):
    # It answers as Ray's GCS does at first, so Ray itself tries it, with its wait bounded.
    with listening(ANSWERS["gRPC, not Ray"]) as address:
        out = index_on_ray(address, tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    # Ray logs a line of its own first.
    assert out.stderr.splitlines()[-1].startswith(f"rag: error: cannot join the Ray cluster at {address} (ConnectionError")
    assert list(tmp_path.iterdir()) == []
