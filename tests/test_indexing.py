"""Building large indexes: batches, resuming a killed build, approximate search."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rag
from rag import Document, build_index, indexing, open_index
from rag.retrieval import search
from tests.test_store import CountingEmbedder as Counting

ROOT = Path(__file__).resolve().parent.parent
TOPICS = ["ferry", "bridge", "harbour", "tunnel", "railway", "airport", "canal", "market", "school", "library",
          "stadium", "museum"]


def corpus(n: int) -> list[Document]:
    """Documents of four sentences each; each sentence its own passage."""
    return [Document(id=f"d{i:02d}", title=f"The {t}",
                     text="\n\n".join(f"The {t} number {i} opened in year {1990 + j} after a long delay of {j + 2} months."
                                      for j in range(4)))
            for i, t in enumerate((TOPICS * 3)[:n])]


SLOW_BUILD = """
import sys, time
sys.path.insert(0, sys.argv[2])
from tests.test_indexing import corpus
from rag import build_index, indexing
from rag.embedding import HashingEmbedder

class Slow(HashingEmbedder):
    def encode(self, texts, *, progress=False):
        time.sleep(0.2)
        return super().encode(texts)

indexing.BATCH = 4
build_index(corpus(12), sys.argv[1], embedder=Slow(dim=32))
"""


def files_of(index_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(index_dir)): p.read_bytes() for p in sorted(index_dir.rglob("*")) if p.is_file()}


def test_a_killed_build_keeps_the_old_index_and_resumes_to_the_same_index(tmp_path, hashing, monkeypatch):
    monkeypatch.setattr(indexing, "BATCH", 4)
    build_index(corpus(3), tmp_path / "ix", embedder=hashing)
    before = files_of(tmp_path / "ix")

    writer = subprocess.Popen([sys.executable, "-c", SLOW_BUILD, str(tmp_path / "ix"), str(ROOT)])
    deadline = time.monotonic() + 120  # a guard against a hang, not a timing check
    saved: list[Path] = []
    while len(saved) < 3 and writer.poll() is None and time.monotonic() < deadline:
        saved = sorted(tmp_path.glob(".ix.resume-*/*.npy"))
        time.sleep(0.02)
    if writer.poll() is None:
        os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert len(saved) >= 3, "the build was killed after some batches were saved"
    assert files_of(tmp_path / "ix") == before  # the old index, untouched, still opens
    assert list(open_index(tmp_path / "ix", model=hashing.name).documents) == ["d00", "d01", "d02"]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert any(n.startswith(".ix.tmp-") for n in left) and any(n.startswith(".ix.resume-") for n in left)

    saved = sorted(tmp_path.glob(".ix.resume-*/*.npy"))
    resumed = Counting()
    index = build_index(corpus(12), tmp_path / "ix", embedder=resumed)
    # d00-d02 are unchanged (12 passages kept); of the other 36, the saved batches are not embedded again.
    assert len(resumed.encoded) == 36 - 4 * len(saved)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]  # the killed writer's folders are gone

    build_index(corpus(3), tmp_path / "straight", embedder=hashing)
    straight = build_index(corpus(12), tmp_path / "straight", embedder=hashing)
    assert list(index.passages) == list(straight.passages) and len(index.passages) == 48
    np.testing.assert_array_equal(index.vectors, straight.vectors)
    manifests = [json.loads((tmp_path / d / "manifest.json").read_text()) for d in ("ix", "straight")]
    assert manifests[0] == manifests[1]  # every file's size and hash, too
    assert [h.row for h in search(index, "railway opened in 1992", embedder=hashing)][:3] == \
           [h.row for h in search(straight, "railway opened in 1992", embedder=hashing)][:3]


def test_a_changed_document_set_does_not_reuse_saved_batches(tmp_path, hashing, monkeypatch):
    monkeypatch.setattr(indexing, "BATCH", 4)
    resume = tmp_path / ".ix.resume-0000000000000000"
    first = Counting()
    build_index(corpus(2), tmp_path / "ix", embedder=first)
    assert len(first.encoded) == 8 and not resume.exists() and not list(tmp_path.glob(".ix.resume-*"))
    other = [Document(id="d00", text="An entirely different first document.\n\nWith a second sentence.")]
    second = Counting()
    build_index(other, tmp_path / "ix", embedder=second)
    assert second.encoded == ["An entirely different first document.", "With a second sentence."]


def test_approximate_search_finds_what_exact_search_finds(tmp_path, hashing):
    docs = corpus(36)
    exact = build_index(docs, tmp_path / "exact", embedder=hashing, search="exact")
    approximate = build_index(docs, tmp_path / "approx", embedder=hashing, search="approximate")
    manifest = json.loads((tmp_path / "approx" / "manifest.json").read_text())
    assert manifest["search"]["kind"] == "ivf" and manifest["search"]["sampled_recall_at_10"] >= indexing.TARGET_RECALL
    assert json.loads((tmp_path / "exact" / "manifest.json").read_text())["search"]["kind"] == "flat"
    assert approximate.approximate and not exact.approximate
    np.testing.assert_array_equal(approximate.vectors, exact.vectors)
    found = 0
    questions = [f"The {t} opened in year {y}" for t in TOPICS for y in (1990, 1993)] + ["café ünïcode", ""]
    for question in questions:
        q = hashing.encode([question])[0]
        rows, scores = approximate.nearest(q, 10)
        np.testing.assert_allclose(scores, exact.vectors[rows] @ q, atol=1e-6)  # re-scored with the exact vectors
        assert list(scores) == sorted(scores, reverse=True) and len(set(rows.tolist())) == 10
        tenth = exact.nearest(q, 10)[1][-1]
        found += int((scores >= tenth - 1e-6).sum())
    assert found / (10 * len(questions)) >= 0.9
    assert rag.retrieve("Which railway opened in 1992?", k=3, index=approximate)[0].doc_id == \
           rag.retrieve("Which railway opened in 1992?", k=3, index=exact)[0].doc_id


def test_search_setting_is_checked(tmp_path, hashing):
    with pytest.raises(ValueError, match="search must be one of"):
        build_index(corpus(1), tmp_path / "ix", embedder=hashing, search="fast")


def test_a_build_tells_how_far_it_is_every_few_hundred_passages(tmp_path, hashing):
    text = "\n\n".join(f"Paragraph {i}. The council met on day {i} and agreed plan {i} for the harbour." for i in range(700))
    seen = []
    index = build_index([Document(id="plan.txt", text=text)], tmp_path / "ix", embedder=hashing,
                        on_progress=lambda done, total: seen.append((done, total)))
    total = len(index.passages)
    assert seen == [(n, total) for n in range(indexing.REPORT_EVERY, total, indexing.REPORT_EVERY)] + [(total, total)]
    seen.clear()
    build_index([Document(id="plan.txt", text=text)], tmp_path / "ix", embedder=hashing, on_progress=seen.append)
    assert seen == []  # nothing left to embed: nothing to tell
