"""The Milvus store: the same answers as the local store, from a real embedded Milvus Lite."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import rag
from rag import Document, MissingDependencyError, build_index, open_index
from rag.config import BUNDLED_ARTICLE
from tests.test_store import CountingEmbedder

pytest.importorskip("pymilvus", reason="the milvus extra: pip install -e '.[milvus]'")

DATA = Path(__file__).parent / "data"
DOCS = [Document(id="a", text="The river flooded the town. Mr Ross said the dam held.", title="Flood"),
        Document(id="b", text="Grain prices rose in March. Traders blamed the drought.")]


def collections(uri):
    from rag.milvus import client

    return set(client(uri).list_collections())


@pytest.fixture(scope="module")
def milvus_index(tmp_path_factory, embedder):
    where = tmp_path_factory.mktemp("milvus")
    return build_index([BUNDLED_ARTICLE], where / "index", embedder=embedder, milvus=str(where / "milvus.db"))


def questions(name):
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("name", ["article_dev.jsonl", "article_natural_dev.jsonl"])
def test_answers_are_the_local_stores(milvus_index, article_index, name):
    assert milvus_index.engine is not None and article_index.engine is None
    for case in questions(name):
        history = case.get("history")
        local = rag.ask(case["question"], article_index, history=history)
        remote = rag.ask(case["question"], milvus_index, history=history)
        assert (remote.text, remote.abstained) == (local.text, local.abstained), case["question"]
        assert [(p.doc_id, p.start, p.end) for p in remote.citations] == [(p.doc_id, p.start, p.end) for p in local.citations]


def test_retrieval_ranks_as_the_local_store_in_each_mode(milvus_index, article_index):
    for question in ["What did Pistorius say about international law?", "Healey Indo-Pacific", "Lord Stirrup", "ünïcödé café"]:
        for mode in ("hybrid", "dense", "lexical"):
            local = [(p.start, p.end) for p in rag.retrieve(question, k=3, index=article_index, mode=mode)]
            remote = [(p.start, p.end) for p in rag.retrieve(question, k=3, index=milvus_index, mode=mode)]
            assert remote == local, (question, mode)


def test_the_manifest_names_the_collection_and_a_reopened_index_searches_it(milvus_index):
    manifest = json.loads((milvus_index.path / "manifest.json").read_text())
    store = manifest["store"]
    assert store["kind"] == "milvus" and store["uri"].endswith("milvus.db") and store["collection"].startswith("rag_index_")
    assert store["collection"] in collections(store["uri"])
    reopened = rag.load_index(milvus_index.path)
    assert reopened.store == store
    assert rag.retrieve("What did Pistorius say about international law?", k=1, index=reopened)[0].start == 749


def test_a_rebuild_embeds_only_what_changed_and_switches_collections(tmp_path):
    uri = str(tmp_path / "milvus.db")
    embedder = CountingEmbedder()
    first = build_index(DOCS, tmp_path / "ix", embedder=embedder, milvus=uri)
    assert first.store["collection"] in collections(uri)
    embedder.encoded.clear()
    changed = Document(id="b", text="Grain prices fell in May.")
    second = build_index([DOCS[0], changed], tmp_path / "ix", embedder=embedder, milvus=uri)
    assert embedder.encoded == ["Grain prices fell in May."]
    assert collections(uri) >= {second.store["collection"]} and first.store["collection"] not in collections(uri)
    opened = open_index(tmp_path / "ix", model=embedder.name)
    opened.derived["embedder"] = embedder
    assert rag.retrieve("Who said the dam held?", k=1, index=opened)[0].text == "Mr Ross said the dam held."
    local = build_index([DOCS[0], changed], tmp_path / "local", embedder=embedder)  # and back to a local index
    assert local.store is None and local.engine is None


def test_an_approximate_index_searches_an_hnsw_graph_in_milvus(tmp_path, hashing):
    from rag.milvus import client

    uri = str(tmp_path / "milvus.db")
    index = build_index(DOCS, tmp_path / "ix", embedder=hashing, milvus=uri, search="approximate")
    described = client(uri).describe_index(index.store["collection"], "vector")
    assert described["index_type"] == "HNSW"
    index.derived["embedder"] = hashing
    assert rag.retrieve("Who said the dam held?", k=1, index=index)[0].text == "Mr Ross said the dam held."


def test_a_missing_extra_is_one_line_saying_what_to_install(tmp_path, monkeypatch, hashing):
    build_index(DOCS, tmp_path / "ix", embedder=hashing, milvus=str(tmp_path / "milvus.db"))
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pymilvus" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"pip install -e '\.\[milvus\]'") as caught:
        open_index(tmp_path / "ix", model=hashing.name)
    assert "\n" not in str(caught.value)
    monkeypatch.setitem(sys.modules, "pymilvus", None)  # as if not installed
    with pytest.raises(MissingDependencyError, match=r"pip install -e '\.\[milvus\]'"):
        build_index(DOCS, tmp_path / "other", embedder=hashing, milvus=str(tmp_path / "other.db"))
    assert not (tmp_path / "other").exists()


def test_the_command_line_indexes_into_milvus_and_refuses_other_stores(tmp_path):
    rag_cmd = Path(sys.executable).with_name("rag")
    out = subprocess.run([str(rag_cmd), "index", str(DATA / "ferry.txt"), "--index", str(tmp_path / "ix"),
                          "--store", "milvus", str(tmp_path / "cli.db")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "searched in Milvus at" in out.stdout and "cli.db" in out.stdout
    asked = subprocess.run([str(rag_cmd), "retrieve", "electric ferry Skagerrak", "-k", "1", "--index", str(tmp_path / "ix")],
                           capture_output=True, text=True)
    assert asked.returncode == 0 and "ferry.txt" in asked.stdout, asked.stderr
    bad = subprocess.run([str(rag_cmd), "index", str(DATA / "ferry.txt"), "--index", str(tmp_path / "ix2"),
                          "--store", "qdrant", "x"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown store 'qdrant'" in bad.stderr
