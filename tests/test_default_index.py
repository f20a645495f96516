"""The default index: built from the bundled article on first use, rebuilt when stale."""

import json
import logging

import pytest

import rag
from rag import config
from rag.store import MANIFEST, PASSAGES


@pytest.fixture
def default_dir(tmp_path, monkeypatch, embedder):
    path = tmp_path / "default-index"
    monkeypatch.setenv("RAG_INDEX_DIR", str(path))
    assert config.default_index_dir() == path
    return path


def test_first_use_builds_it_with_a_notice(default_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="rag"):
        answer = rag.ask("What did Pistorius say about international law?")
    assert "international law" in answer.text
    assert [r.getMessage() for r in caplog.records] == [
        f"rag: building the index in {default_dir} (missing); this takes a few seconds, once"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rag"):
        rag.retrieve("Lord Stirrup")
    assert caplog.records == []
    manifest = json.loads((default_dir / MANIFEST).read_text())
    assert list(manifest["documents"]) == ["article.txt"]


def test_index_of_another_model_is_rebuilt_from_its_own_documents(default_dir, tmp_path, caplog):
    own = tmp_path / "own.txt"
    own.write_text("The lighthouse keeper, Ola Dahl, said the lamp was lit in 1854.", encoding="utf-8")
    rag.build_index([own], default_dir)
    manifest = json.loads((default_dir / MANIFEST).read_text())
    manifest["model"] = "some-other-model"
    (default_dir / MANIFEST).write_text(json.dumps(manifest))
    own.unlink()  # the stored text is enough to rebuild
    with caplog.at_level(logging.WARNING, logger="rag"):
        answer = rag.ask("When was the lamp lit?")
    assert "building the index" in caplog.text and "some-other-model" in caplog.text
    assert answer.text == "The lighthouse keeper, Ola Dahl, said the lamp was lit in 1854. [1]"


def test_corrupt_default_index_is_rebuilt(default_dir):
    rag.retrieve("Healey")
    (default_dir / MANIFEST).write_text("garbage")
    (default_dir / PASSAGES).write_text("garbage\n")
    assert rag.ask("Who is Boris Pistorius?").citations[0].speaker == "Boris Pistorius"
    assert (default_dir / PASSAGES).read_text().startswith('{"doc_id": "article.txt"')
    assert json.loads((default_dir / MANIFEST).read_text())["passages"] == 24


def test_someone_elses_unreadable_index_is_reported_not_replaced(default_dir, embedder):
    rag.build_index([rag.Document(id="memo", text="The ferry starts in June.")], default_dir, embedder=embedder)
    (default_dir / "documents.jsonl").write_text("{not json\n", encoding="utf-8")
    (default_dir / PASSAGES).write_text("{not json\n", encoding="utf-8")
    before = {str(p): p.read_bytes() for p in default_dir.rglob("*") if p.is_file()}
    with pytest.raises(rag.IndexFormatError, match="default-index: index is corrupt"):
        rag.indexing.default_index()
    assert {str(p): p.read_bytes() for p in default_dir.rglob("*") if p.is_file()} == before


def test_a_damaged_own_index_is_reported_never_rebuilt_from_what_remains(default_dir, embedder):
    # documents.jsonl cut to its first line once made `rag ask` rebuild the index
    # from that line: the other document was silently gone.
    docs = [rag.Document(id="memo", text="The ferry starts in June."),
            rag.Document(id="rota", text="Ana Silva staffs the ticket office on Mondays.")]
    rag.build_index(docs, default_dir, embedder=embedder)
    documents = default_dir / "documents.jsonl"
    documents.write_bytes(documents.read_bytes().splitlines(keepends=True)[0])
    before = {str(p): p.read_bytes() for p in default_dir.rglob("*") if p.is_file()}
    with pytest.raises(rag.IndexFormatError, match="default-index: index is corrupt .*rebuild it with: rag index") as info:
        rag.ask("Who staffs the ticket office?")
    assert "\n" not in str(info.value)
    assert {str(p): p.read_bytes() for p in default_dir.rglob("*") if p.is_file()} == before


def test_an_outdated_own_index_whose_documents_are_whole_is_rebuilt_from_all_of_them(default_dir, embedder):
    docs = [rag.Document(id="memo", text="The ferry starts in June."),
            rag.Document(id="rota", text="Ana Silva staffs the ticket office on Mondays.")]
    rag.build_index(docs, default_dir, embedder=embedder)
    manifest = json.loads((default_dir / MANIFEST).read_text())
    (default_dir / MANIFEST).write_text(json.dumps({**manifest, "chunker_version": "0"}))
    assert rag.ask("Who staffs the ticket office?").citations[0].doc_id == "rota"
    assert list(json.loads((default_dir / MANIFEST).read_text())["documents"]) == ["memo", "rota"]
