"""The Milvus store: the same answers as the local store, from a real embedded Milvus Lite."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rag
from rag import Document, IndexFormatError, MissingDependencyError, build_index, open_index
from rag.backends import Local
from rag.config import BUNDLED_ARTICLE
from rag.milvus import Milvus
from tests.test_store import CountingEmbedder

pytest.importorskip("pymilvus", reason="the milvus extra: pip install -e '.[milvus]'")
pytestmark = pytest.mark.extra

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
    assert isinstance(milvus_index.backend, Milvus) and isinstance(article_index.backend, Local)
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
    from rag.milvus import client

    # The collection alone is enough to cite a passage: text, document, title, offsets, speaker.
    [row] = client(store["uri"]).query(store["collection"], filter="row == 11",
                                       output_fields=["text", "doc_id", "title", "start", "end", "speaker"])
    passage = milvus_index.passages[11]
    assert {k: row[k] for k in ("text", "doc_id", "start", "end")} == {
        "text": passage.text, "doc_id": passage.doc_id, "start": passage.start, "end": passage.end}
    assert row["title"] == milvus_index.documents[passage.doc_id].title and row["speaker"] == (passage.speaker or "")
    assert row["text"] and row["title"]
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
    assert local.store is None and isinstance(local.backend, Local)


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


def remove(path: Path) -> None:
    """Delete a Milvus Lite database, whichever it is: Milvus Lite 3's is a folder."""
    shutil.rmtree(path) if path.is_dir() else path.unlink()


def test_a_deleted_milvus_database_is_one_line_saying_how_to_rebuild(tmp_path, hashing):
    uri = tmp_path / "milvus.db"
    built = build_index(DOCS, tmp_path / "ix", embedder=hashing, milvus=str(uri))
    remove(uri)
    for index in (built, open_index(tmp_path / "ix", model=hashing.name)):
        index.derived["embedder"] = hashing
        with pytest.raises(IndexFormatError) as caught:
            rag.retrieve("Who said the dam held?", k=1, index=index)
        assert str(caught.value) == (f"{tmp_path / 'ix'}: its Milvus Lite database {uri} is gone; "
                                     f"rebuild it with: rag index PATH... --index {tmp_path / 'ix'} --store milvus {uri}")
    assert not uri.exists()  # not made anew, empty, by Milvus Lite


def test_a_dropped_milvus_collection_is_one_line_saying_how_to_rebuild(tmp_path, hashing):
    from rag.milvus import client

    uri = str(tmp_path / "milvus.db")
    index = build_index(DOCS, tmp_path / "ix", embedder=hashing, milvus=uri)
    index.derived["embedder"] = hashing
    assert rag.retrieve("Who said the dam held?", k=1, index=index)  # the collection loaded, then dropped
    client(uri).drop_collection(index.store["collection"])
    for index in (index, open_index(tmp_path / "ix", model=hashing.name)):
        index.derived["embedder"] = hashing
        with pytest.raises(IndexFormatError, match=r"its Milvus collection rag_ix_\w+ is gone from .*milvus\.db; "
                                                   r"rebuild it with: rag index PATH\.\.\. --index .* --store milvus "):
            rag.retrieve("Who said the dam held?", k=1, index=index)


def test_the_command_line_says_a_milvus_collection_or_database_is_gone_and_the_rebuild_works(tmp_path):
    rag_cmd = str(Path(sys.executable).with_name("rag"))
    uri, ix = tmp_path / "cli.db", str(tmp_path / "ix")
    rebuild = [rag_cmd, "index", str(DATA / "ferry.txt"), "--index", ix, "--store", "milvus", str(uri)]
    ask = [rag_cmd, "ask", "Which sea will the electric ferry cross?", "--index", ix]
    assert subprocess.run(rebuild, capture_output=True, text=True).returncode == 0
    collection = json.loads((tmp_path / "ix" / "manifest.json").read_text())["store"]["collection"]
    # From another process: Milvus Lite lets one at a time open the database.
    subprocess.run([sys.executable, "-c", "import sys; from rag.milvus import client; "
                    "client(sys.argv[1]).drop_collection(sys.argv[2])", str(uri), collection], check=True)

    def asked_says(gone: str) -> None:
        out = subprocess.run(ask, capture_output=True, text=True, timeout=120)
        assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
        assert out.stderr.splitlines() == [
            f"rag: error: {ix}: {gone}; rebuild it with: rag index PATH... --index {ix} --store milvus {uri}"]

    asked_says(f"its Milvus collection {collection} is gone from {uri}")
    remove(uri)
    asked_says(f"its Milvus Lite database {uri} is gone")
    assert not uri.exists()
    assert subprocess.run(rebuild, capture_output=True, text=True).returncode == 0
    answered = subprocess.run(ask, capture_output=True, text=True)
    assert answered.returncode == 0 and "Skagerrak" in answered.stdout, answered.stderr


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


def test_the_chat_page_answers_from_a_milvus_index_with_no_other_flag(article_index, tmp_path):
    import urllib.request

    from tests.test_app import app_server

    # Built by another process: Milvus Lite lets one process at a time open a database.
    rag_cmd = Path(sys.executable).with_name("rag")
    built = subprocess.run([str(rag_cmd), "index", str(BUNDLED_ARTICLE), "--index", str(tmp_path / "ix"),
                            "--store", "milvus", str(tmp_path / "page.db")], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    question = "What did Healey say about the Indo-Pacific?"
    expected = rag.ask(question, article_index)  # the local store's answer, which Milvus's equals (above)
    with app_server(tmp_path / "ix", tmp_path, "app-milvus.log") as url:
        request = urllib.request.Request(f"{url}gradio_api/run/ask", data=json.dumps({"data": [question]}).encode(),
                                         headers={"Content-Type": "application/json"})
        assert json.load(urllib.request.urlopen(request, timeout=60))["data"] == [expected.to_json()]
        # While the page holds the database, another process gets one line, not a traceback.
        asked = subprocess.run([str(rag_cmd), "ask", question, "--index", str(tmp_path / "ix")], capture_output=True, text=True)
        assert asked.returncode == 1 and asked.stderr.count("\n") == 1, asked.stderr
        assert "Milvus Lite lets one process at a time open it" in asked.stderr and "Traceback" not in asked.stderr
    assert "Indo-Pacific" in expected.text and expected.citations
