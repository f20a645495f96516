"""Embedding on a real local Ray cluster of 2 CPUs: the same index as a local build."""

import json

import numpy as np
import pytest

import rag
from rag import MissingDependencyError, build_index
from rag.config import BUNDLED_ARTICLE
from tests.test_milvus import DATA

pytest.importorskip("ray.data", reason="the ray extra: pip install -e '.[ray]'")


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
