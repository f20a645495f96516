import json
import os
import time

import numpy as np
import pytest

import rag
from rag import Document, IndexFormatError, build_index, open_index
from rag.embedding import HashingEmbedder
from rag.store import MANIFEST, PASSAGES, VECTORS

DOCS = [
    Document(id="a", text="The river flooded the town. Mr Ross said the dam held.", title="Flood"),
    Document(id="b", text="Grain prices rose in March. Traders blamed the drought."),
]


class CountingEmbedder(HashingEmbedder):
    def __init__(self):
        super().__init__(dim=32)
        self.encoded: list[str] = []

    def encode(self, texts, *, progress=False):
        self.encoded.extend(texts)
        return super().encode(texts)


class FailingEmbedder(HashingEmbedder):
    def encode(self, texts, *, progress=False):
        raise RuntimeError("power cut")


def _collections(store) -> set[str]:
    """The Milvus collections of a test's database (none for the local store)."""
    if not store:
        return set()
    from rag.milvus import client

    return set(client(store["milvus"]).list_collections())


def open_with(path, embedder):
    return open_index(path, model=embedder.name)


def open_and_read(path, embedder):
    """Open an index and retrieve from it: rows are checked when they are read."""
    index = open_with(path, embedder)
    index.derived["embedder"] = embedder
    return rag.retrieve("When does the ferry start?", k=50, index=index)


def test_round_trip_keeps_documents_passages_and_vectors(tmp_path, hashing, store):
    built = build_index(DOCS, tmp_path / "ix", embedder=hashing, **store)
    opened = open_with(tmp_path / "ix", hashing)
    assert opened.documents == built.documents
    assert list(opened.passages) == list(built.passages)
    np.testing.assert_array_equal(opened.vectors, built.vectors)
    assert [(p.doc_id, p.start, p.end, p.speaker) for p in opened.passages] == [
        ("a", 0, 27, None), ("a", 28, 54, "Ross"), ("b", 0, 55, None),  # short sentences of b join up
    ]
    assert opened.documents["b"].title == "" and opened.documents["a"].title == "Flood"
    assert opened.store == built.store == opened.backend.location()
    opened.derived["embedder"] = hashing
    assert [(p.doc_id, p.start) for p in rag.retrieve("Who said the dam held?", k=1, index=opened)] == [("a", 28)]


def test_files_are_readable_without_the_library(tmp_path, hashing):
    build_index(DOCS, tmp_path / "ix", embedder=hashing)
    manifest = json.loads((tmp_path / "ix" / MANIFEST).read_text())
    assert manifest["format"] == "rag-index" and manifest["format_version"] == 2
    assert manifest["model"] == "hashing-32" and manifest["dim"] == 32 and manifest["passages"] == 3
    assert set(manifest["documents"]) == {"a", "b"}
    first = json.loads((tmp_path / "ix" / PASSAGES).read_text().splitlines()[1])
    assert first["text"] == "Mr Ross said the dam held." and first["speaker"] == "Ross"
    assert not list(tmp_path.glob(".ix.*")), "no temporary directories left behind"
    assert manifest["search"] == {"kind": "flat", "codes": "int8"}
    starts = np.load(tmp_path / "ix" / "passages.rows.npy")
    assert (tmp_path / "ix" / PASSAGES).read_bytes()[starts[1]:starts[2]].decode().startswith('{"doc_id": "a", "start": 28')
    assert np.load(tmp_path / "ix" / "documents.rows.npy")[:, 1].tolist() == [0, 2, 3]  # each document's first passage
    assert json.loads((tmp_path / "ix" / "people.json").read_text())["speakers"] == {"Ross": [1]}


def test_rebuild_embeds_only_new_or_changed_documents_and_drops_removed(tmp_path, monkeypatch, store):
    monkeypatch.setattr(rag.lexical, "EMBED_LEXICON_FROM_PASSAGES", 0)  # as a large index does
    embedder = CountingEmbedder()
    build_index(DOCS, tmp_path / "ix", embedder=embedder, **store)
    sentences = [t for t in embedder.encoded if t.endswith(".")]  # the rest are the lexicon's words
    assert len(sentences) == 3 and "flooded" in embedder.encoded
    embedder.encoded.clear()
    changed = Document(id="b", text="Grain prices fell in May.")
    new = Document(id="c", text="Ünïcödé text about the café.")
    index = build_index([DOCS[0], changed, new], tmp_path / "ix", embedder=embedder, **store)
    assert embedder.encoded[:2] == ["Grain prices fell in May.", "Ünïcödé text about the café."]
    assert set(embedder.encoded[2:]) == {"fell", "May", "ünïcödé", "text", "about", "café"}  # only new words, too
    embedder.encoded.clear()
    index = build_index([changed], tmp_path / "ix", embedder=embedder, **store)
    assert embedder.encoded == []
    monkeypatch.setattr(rag.lexical, "EMBED_LEXICON_FROM_PASSAGES", 5_000)
    build_index([changed], tmp_path / "ix2", embedder=embedder)
    assert embedder.encoded == ["Grain prices fell in May."]  # a small index embeds its words on first use
    assert list(open_with(tmp_path / "ix", embedder).documents) == ["b"] == list(index.documents)
    index.derived["embedder"] = embedder
    assert [p.text for p in rag.retrieve("grain prices", k=5, index=index)] == ["Grain prices fell in May."]
    assert _collections(store) == ({index.store["collection"]} if store else set())  # the older ones dropped


def test_failed_build_leaves_previous_index_intact(tmp_path, hashing, store):
    build_index(DOCS, tmp_path / "ix", embedder=hashing, **store)
    stored = _collections(store)
    before = {str(p): p.read_bytes() for p in (tmp_path / "ix").rglob("*") if p.is_file()}
    failing = FailingEmbedder(dim=32)
    with pytest.raises(RuntimeError, match="power cut"):
        build_index([Document(id="z", text="New text.")], tmp_path / "ix", embedder=failing, **store)
    assert {str(p): p.read_bytes() for p in (tmp_path / "ix").rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "milvus.db") == ["ix"]
    assert _collections(store) == stored


def test_interrupted_swap_is_recovered_on_open(tmp_path, hashing):
    build_index(DOCS, tmp_path / "ix", embedder=hashing)
    (tmp_path / "ix").rename(tmp_path / ".ix.old-12345678")  # as if killed between the two renames
    assert len(open_with(tmp_path / "ix", hashing).passages) == 3


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / MANIFEST).write_text("{not json"), "manifest.json is not valid JSON"),
        (lambda d: (d / MANIFEST).write_text('{"format": "other"}'), "not a rag index manifest"),
        (lambda d: (d / PASSAGES).write_text((d / PASSAGES).read_text()[:-40]), "passages.rows.npy does not match passages.jsonl"),
        (lambda d: (d / PASSAGES).write_text((d / PASSAGES).read_text().replace('"start": 28', '"start":[28')), "passages.jsonl is not valid JSON lines"),
        (lambda d: (d / VECTORS).write_bytes((d / VECTORS).read_bytes()[:100]), "vectors.faiss cannot be read"),
        (lambda d: (d / VECTORS).unlink(), "vectors.faiss is missing"),
        (lambda d: (d / "people.json").write_text("[]"), "unexpected content"),
        (lambda d: (d / "people.json").write_text('{"people": [], "speakers": {}}'), "unexpected content"),
        (lambda d: (d / "people.json").write_text('{"people": {}, "speakers": {"Ross": [1000000]}}'),
         "people.json names passage rows the index does not have"),
        (lambda d: np.save(d / "vectors.npy", np.eye(3, 16, dtype=np.float32)), "holds 3 vectors of dimension 32|not a float32"),
        (lambda d: (d / "passages.rows.npy").write_bytes((d / "passages.rows.npy").read_bytes().replace(b"(4,)", b"(9999999999999999999999999999,)")),
         "unexpected content|does not match"),
    ],
)
def test_corrupt_index_is_reported_in_one_line(tmp_path, hashing, damage, message):
    build_index(DOCS, tmp_path / "ix", embedder=hashing)
    damage(tmp_path / "ix")
    refingerprint(tmp_path / "ix")  # as if the manifest were edited to match: the checks behind it still hold
    with pytest.raises(IndexFormatError, match=message) as info:
        open_and_read(tmp_path / "ix", hashing)
    assert "\n" not in str(info.value) and "rag index" in str(info.value)


def test_a_dropped_index_lets_go_of_its_files(tmp_path, hashing):
    import gc

    build_index(DOCS, tmp_path / "ix", embedder=hashing)
    before = len(os.listdir("/proc/self/fd"))
    gc.disable()  # closed when the last reference goes, not at some later collection
    try:
        for _ in range(20):
            open_and_read(tmp_path / "ix", hashing)
        assert len(os.listdir("/proc/self/fd")) <= before + 1
    finally:
        gc.enable()


def test_index_from_another_model_is_refused(tmp_path, hashing, store):
    build_index(DOCS, tmp_path / "ix", embedder=hashing, **store)
    with pytest.raises(IndexFormatError, match="built with model 'hashing-32', but the current model is 'other'"):
        open_index(tmp_path / "ix", model="other")


def test_missing_index_and_foreign_directory(tmp_path, hashing):
    with pytest.raises(IndexFormatError, match="no index here"):
        open_with(tmp_path / "nothing", hashing)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(IndexFormatError, match="holds no rag index"):
        build_index(DOCS, tmp_path / "photos", embedder=hashing)
    assert (tmp_path / "photos" / "cat.jpg").read_bytes() == b"\xff\xd8"


def test_build_rejects_bad_document_sets(tmp_path, hashing):
    from rag import DocumentError

    with pytest.raises(DocumentError, match="no documents given"):
        build_index([], tmp_path / "ix", embedder=hashing)
    with pytest.raises(DocumentError, match="two documents have the id 'a'"):
        build_index([DOCS[0], DOCS[0]], tmp_path / "ix", embedder=hashing)
    with pytest.raises(DocumentError, match="document 'e' has no text"):
        build_index([Document(id="e", text="")], tmp_path / "ix", embedder=hashing)
    assert not (tmp_path / "ix").exists()


def test_a_killed_writers_folder_is_removed_by_the_next_write(tmp_path, hashing):
    stale, fresh = tmp_path / ".ix.tmp-dead0001", tmp_path / ".ix.tmp-live0002"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "passages.jsonl").write_text("", encoding="utf-8")
    hour_and_a_bit_ago = time.time() - 3700
    os.utime(stale, (hour_and_a_bit_ago, hour_and_a_bit_ago))
    rag.build_index([Document(id="d", text="The ferry starts in June.")], tmp_path / "ix", embedder=hashing)
    assert not stale.exists() and fresh.exists()  # a write under way elsewhere is left alone


@pytest.mark.parametrize("damage, message", [
    (lambda ix: (ix / PASSAGES).write_text((ix / PASSAGES).read_text().replace('"start": 0, "end": 25', '"start":0.0, "end":25')),
     "offsets or text are of the wrong type"),
    (lambda ix: (ix / PASSAGES).write_text((ix / PASSAGES).read_text().replace('"start": 0', '"start": 1')),
     "passage offsets do not match document 'd'"),
    (lambda ix: (ix / "documents.jsonl").write_text((ix / "documents.jsonl").read_text().replace('"id": "d"', '"id": "e"')),
     "documents.jsonl does not match the manifest"),
    (lambda ix: (ix / PASSAGES).write_text("[" * 100_000 + "]" * 100_000 + "\n"), "passages.rows.npy does not match"),
    (lambda ix: ((ix / PASSAGES).unlink(), (ix / PASSAGES).mkdir()), "passages.jsonl is a directory"),
])
def test_hand_edited_index_files_are_one_line_errors(tmp_path, hashing, damage, message):
    build_index([Document(id="d", text="The ferry starts in June.")], tmp_path / "ix", embedder=hashing)
    damage(tmp_path / "ix")
    refingerprint(tmp_path / "ix")
    with pytest.raises(IndexFormatError, match=message):  # when opened, or when the row is read
        open_and_read(tmp_path / "ix", hashing)


def test_an_index_path_in_a_symlink_loop_is_a_one_line_error(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(IndexFormatError, match="a: cannot open it"):
        rag.load_index(tmp_path / "a")


def test_vector_file_is_checked_against_the_manifest(tmp_path, hashing):
    build_index([Document(id="d", text="The ferry starts in June. It carries 240 cars.")], tmp_path / "ix", embedder=hashing)
    vectors = tmp_path / "ix" / VECTORS
    data = bytearray(vectors.read_bytes())
    data[40] ^= 0xFF  # one flipped byte, in the header FAISS reads its sizes from
    vectors.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match="vectors.faiss is not the file the manifest recorded"):
        open_index(tmp_path / "ix", model=hashing.name)


def test_vectors_that_are_not_embeddings_are_refused_even_with_a_matching_manifest(tmp_path, hashing):
    build_index([Document(id="d", text="The ferry starts in June.")], tmp_path / "ix", embedder=hashing)
    np.save(tmp_path / "ix" / "vectors.npy", np.full((1, hashing.dim), np.nan, dtype=np.float32))
    refingerprint(tmp_path / "ix")
    with pytest.raises(IndexFormatError, match="not embeddings"):
        open_index(tmp_path / "ix", model=hashing.name)


def refingerprint(index_dir):
    """Record the files' present sizes and hashes in the manifest, as a hand edit might."""
    from rag.store import fingerprint

    try:
        manifest = json.loads((index_dir / MANIFEST).read_text())
        manifest["files"] = {name: fingerprint(index_dir / name) for name in manifest["files"] if (index_dir / name).is_file()}
    except (ValueError, TypeError, KeyError):
        return  # the manifest itself is what was damaged
    (index_dir / MANIFEST).write_text(json.dumps(manifest))


def test_readers_never_mix_two_versions_of_an_index_being_rewritten(tmp_path, hashing):
    import threading

    # Versions of different lengths: a reader that checks files against a stale manifest would notice.
    versions = [[Document(id="d", text="\n\n".join(f"Ferry {n} number {i} starts in June." for i in range(n)))]
                for n in range(2, 8)]
    build_index(versions[0], tmp_path / "ix", embedder=hashing)
    stop = threading.Event()

    def writer():
        n = 0
        while not stop.is_set() and n < 60:
            build_index(versions[n % len(versions)], tmp_path / "ix", embedder=hashing)
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    opened = 0
    try:
        for _ in range(150):
            try:
                ix = open_index(tmp_path / "ix", model=hashing.name)
            except IndexFormatError as exc:  # a clean refusal is allowed, a silent mix is not
                assert "kept changing" in str(exc) or "missing" in str(exc), exc
                continue
            opened += 1
            expected = hashing.encode([p.text for p in ix.passages])
            assert np.allclose(ix.vectors, expected), "passages of one version, vectors of another"
    finally:
        stop.set()
        thread.join()
    assert opened > 0


QUESTIONS = ["Who said the dam held?", "Why did grain prices rise?", "flooded town", "café", ""]


def lexical_ranking(index, question, embedder=HashingEmbedder(dim=32)):
    from rag.retrieval import search

    hits = search(index, question, n=4, mode="lexical", embedder=embedder) if question else []
    return [(h.row, round(h.lexical, 6)) for h in hits]


def test_the_lexical_index_is_saved_and_read_back_not_rebuilt(tmp_path, hashing, monkeypatch):
    monkeypatch.setattr(rag.lexical, "EMBED_LEXICON_FROM_PASSAGES", 0)  # as a large index does
    build_index(DOCS, tmp_path / "ix", embedder=hashing)
    assert sorted(p.name for p in (tmp_path / "ix" / "lexical").iterdir()) == [
        "data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy", "lexicon-vectors.npy", "lexicon.json",
        "params.index.json", "vocab.index.json"]
    opened = open_with(tmp_path / "ix", hashing)
    assert "bm25" in opened.derived and "lexicon" in opened.derived  # read with the rest, before any question
    from rag.lexical import build_from_terms, build_lexicon, passage_text, terms

    computed = build_lexicon(opened.documents.values(), opened.people)
    saved = opened.derived["lexicon"]
    assert saved.forms == computed.forms and saved.names == computed.names and "Ross" in saved.names
    np.testing.assert_allclose(saved.vectors.table(), hashing.encode(saved.forms), atol=1e-3)  # kept as float16
    rebuilt = open_with(tmp_path / "ix", hashing)
    rebuilt.derived["bm25"] = build_from_terms([
        terms(passage_text(p, opened.role_of(p), opened.documents[p.doc_id].title)) or [""] for p in opened.passages])
    for question in QUESTIONS:
        assert lexical_ranking(opened, question) == lexical_ranking(rebuilt, question)
    assert lexical_ranking(opened, "Who said the dam held?")[0][0] == 1  # "Mr Ross said the dam held."
    from rag.retrieval import document_frequencies

    assert document_frequencies(opened) == document_frequencies(rebuilt)


def test_an_index_of_the_earlier_format_is_refused_in_one_line(tmp_path, hashing):
    build_index(DOCS, tmp_path / "ix", embedder=hashing)
    manifest = json.loads((tmp_path / "ix" / MANIFEST).read_text())
    manifest["format_version"] = 1
    (tmp_path / "ix" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError, match=r"format version 1 is not supported \(this version reads 2\); rebuild it"):
        open_with(tmp_path / "ix", hashing)


@pytest.mark.parametrize("damage", ["flip", "truncate", "outside"])
def test_a_damaged_lexical_index_is_refused_in_one_line(tmp_path, hashing, damage):
    build_index(DOCS, tmp_path / "ix", embedder=hashing)
    target = tmp_path / "ix" / "lexical" / "data.csc.index.npy"
    if damage == "flip":
        blob = bytearray(target.read_bytes())
        blob[-1] ^= 0xFF
        target.write_bytes(bytes(blob))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:20])
    else:  # a hand-edited manifest naming a file outside the index
        manifest = json.loads((tmp_path / "ix" / MANIFEST).read_text())
        manifest["lexical"].append("lexical/../../secret")
        (tmp_path / "ix" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError) as caught:
        open_with(tmp_path / "ix", hashing)
    assert "\n" not in str(caught.value) and str(tmp_path / "ix") in str(caught.value)


@pytest.mark.parametrize("name", [MANIFEST, PASSAGES, VECTORS, "lexical/params.index.json", "documents.jsonl"])
def test_index_files_that_are_fifos_are_refused_not_waited_on(tmp_path, hashing, name):
    # Opening a FIFO for reading blocks until a writer comes: forever, here.
    import threading

    build_index(DOCS, tmp_path / "ix", embedder=hashing)
    (tmp_path / "ix" / name).unlink()
    os.mkfifo(tmp_path / "ix" / name)
    outcome = []

    def open_it():
        try:
            open_and_read(tmp_path / "ix", hashing)
        except IndexFormatError as exc:
            outcome.append(str(exc))

    opener = threading.Thread(target=open_it, daemon=True)
    opener.start()
    opener.join(60)  # a guard against the hang, not a timing check
    assert not opener.is_alive(), f"opening an index whose {name} is a FIFO blocked"
    assert outcome and "not a regular file" in outcome[0] and "\n" not in outcome[0]


def test_a_manifest_that_is_a_symlink_to_a_device_is_not_read(tmp_path, hashing):
    build_index(DOCS, tmp_path / "ix", embedder=hashing)
    (tmp_path / "ix" / MANIFEST).unlink()
    (tmp_path / "ix" / MANIFEST).symlink_to("/dev/zero")
    with pytest.raises(IndexFormatError, match="manifest.json is not a regular file"):
        open_with(tmp_path / "ix", hashing)


@pytest.mark.parametrize("array, dtype", [("data", np.int32), ("data", np.float64), ("indices", np.int64),
                                          ("indices", np.int16), ("indptr", np.float32)])
def test_lexical_arrays_of_another_type_are_refused(tmp_path, hashing, array, dtype):
    # An integer where floats belong raised a TypeError; another integer width
    # was read without complaint, as wrong scores.
    build_index(DOCS, tmp_path / "ix", embedder=hashing)
    target = tmp_path / "ix" / "lexical" / f"{array}.csc.index.npy"
    np.save(target, np.load(target).astype(dtype), allow_pickle=False)
    refingerprint(tmp_path / "ix")
    with pytest.raises(IndexFormatError, match="BM25 score matrix") as caught:
        open_with(tmp_path / "ix", hashing)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("where", ["", "   ", "a\x00b", "/"])
def test_an_index_directory_without_a_name_is_refused(tmp_path, hashing, monkeypatch, where):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(IndexFormatError, match="name the index's folder|needs a folder of its own"):
        build_index(DOCS, where, embedder=hashing)
    assert list(tmp_path.iterdir()) == []
