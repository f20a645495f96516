import numpy as np
import pytest

from rag import ModelError
from rag.embedding import OnnxEmbedder, SentenceTransformerEmbedder, bundled_model_dir, mean_pooled

TEXTS = [
    "What did Pistorius say about international law?",
    "",
    "Der Verteidigungsminister prüft die völkerrechtlichen Folgen – 1,500 bis 12,000 Soldaten.",
    "word " * 600,  # past the model's 256-token limit: truncated the same way
]


@pytest.mark.extra
def test_onnx_runtime_gives_the_sentence_transformers_vectors(embedder):
    pytest.importorskip("sentence_transformers", reason="the reference extra: pip install -e '.[reference]'")
    assert isinstance(embedder, OnnxEmbedder)
    reference = SentenceTransformerEmbedder(bundled_model_dir())
    ours, theirs = embedder.encode(TEXTS), reference.encode(TEXTS)
    assert ours.shape == theirs.shape == (4, 384) and ours.dtype == np.float32
    np.testing.assert_allclose((ours * theirs).sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_batches_do_not_change_vectors(embedder):
    alone = np.stack([embedder.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(embedder.encode(TEXTS), alone, atol=1e-5)
    assert embedder.encode([]).shape == (0, 384)


def test_export_is_cached_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    first = OnnxEmbedder(bundled_model_dir())
    [exported] = list(tmp_path.glob("onnx/*/model.onnx"))
    # The weights are in a file of their own, which ONNX Runtime maps rather than copies.
    [weights] = list(exported.parent.glob(".model.onnx.*.data"))
    assert exported.stat().st_size < 1_000_000 < 80_000_000 < weights.stat().st_size
    stamp = exported.stat().st_mtime_ns
    second = OnnxEmbedder(bundled_model_dir())
    assert exported.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(first.encode(TEXTS[:1]), second.encode(TEXTS[:1]))


def test_bad_model_directory(tmp_path):
    assert mean_pooled(bundled_model_dir()) and not mean_pooled(tmp_path)
    with pytest.raises(ModelError, match="not a sentence-transformers model directory"):
        SentenceTransformerEmbedder(tmp_path)
    with pytest.raises(ModelError, match="no tokenizer.json"):
        OnnxEmbedder(tmp_path)


def test_int8_variant_is_close_and_indexes_remember_it(tmp_path, embedder):
    import rag
    from rag.config import BUNDLED_ARTICLE
    from rag.embedding import default_embedder

    int8 = default_embedder(int8=True)
    assert int8.name == "sentence-transformers/all-MiniLM-L6-v2 (int8)"
    cosines = (int8.encode(TEXTS[:3]) * embedder.encode(TEXTS[:3])).sum(axis=1)
    assert (cosines > 0.97).all() and (cosines < 0.99999).all()  # close, and really quantised

    rag.build_index([BUNDLED_ARTICLE], tmp_path / "ix", int8=True)
    opened = rag.open_index(tmp_path / "ix")  # a new process would open it like this
    assert opened.model == int8.name
    answer = rag.ask("What did Pistorius say about international law?", tmp_path / "ix")
    assert answer.citations[0].start == 749


def test_questions_asked_at_once_each_get_their_own_vector(embedder):
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"{t} {n}" for n in range(12) for t in TEXTS[:3]]
    alone = embedder.encode(texts)  # one batch, not through the shared path
    calls = []
    real = embedder._together._encode
    embedder._together._encode = lambda batch: calls.append(len(batch)) or real(batch)
    try:
        with ThreadPoolExecutor(8) as pool:
            together = np.stack([v[0] for v in pool.map(lambda t: embedder.encode([t]), texts)])
    finally:
        embedder._together._encode = real
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert sum(calls) == len(texts)


def test_a_failing_shared_call_fails_every_question_in_it(embedder):
    from rag.embedding import _Together

    def broken(batch):
        raise ModelError("the model is broken")

    with pytest.raises(ModelError, match="the model is broken"):
        _Together(broken)("What did Pistorius say?")


def test_more_questions_at_once_than_one_shared_call_takes(embedder):
    from concurrent.futures import ThreadPoolExecutor

    from rag.embedding import _Together

    texts = [f"Question number {n} about the ferry?" for n in range(40)]
    together = _Together(embedder._encode, max_batch=3)  # far fewer than wait at once
    with ThreadPoolExecutor(16) as pool:
        vectors = np.stack(list(pool.map(together, texts)))
    np.testing.assert_allclose(vectors, embedder.encode(texts), atol=1e-5)


def test_the_same_question_from_many_threads_at_once(embedder):
    # Two waiters with equal text once compared equal, so one thread took the
    # other's place in the queue: a ValueError for one, a wait forever for another.
    from rag.embedding import _Together

    from .threads import run_threads

    text = "What did Pistorius say about international law?"
    together = _Together(embedder._encode, max_batch=3)
    vectors = run_threads(16, lambda _: [together(text) for _ in range(12)])
    np.testing.assert_allclose(np.stack([v for each in vectors for v in each]),
                               np.repeat(embedder.encode([text]), 16 * 12, axis=0), atol=1e-5)


def test_the_onnx_model_is_written_without_torch(tmp_path):
    """The base install has no torch: writing and running the model must not need it."""
    import subprocess
    import sys

    script = (
        "import sys, numpy as np\n"
        "from rag.embedding import OnnxEmbedder, bundled_model_dir\n"
        "v = OnnxEmbedder(bundled_model_dir()).encode(['Was sagte Pistorius?', ''])\n"
        "assert v.shape == (2, 384) and abs(float(np.linalg.norm(v[0])) - 1) < 1e-5\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    env = {**__import__("os").environ, "RAG_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert list(tmp_path.glob("onnx/*/model.onnx"))


def test_a_damaged_weights_file_is_a_model_error(tmp_path):
    import shutil

    from rag.export import is_bert, write_bert

    model = tmp_path / "model"
    shutil.copytree(bundled_model_dir(), model, ignore=shutil.ignore_patterns("model.safetensors"))
    (model / "model.safetensors").write_bytes(b"\x00" * 100)
    assert is_bert(model) and not is_bert(tmp_path)
    with pytest.raises(ModelError, match="cannot read model.safetensors"):
        write_bert(model, tmp_path / "out.onnx")


def test_half_precision_weights_give_the_same_vectors(tmp_path, embedder, monkeypatch):
    """A float16 checkpoint (say, through RAG_MODEL_DIR) computes in float32: close vectors, no KeyError."""
    import shutil

    from safetensors.numpy import load_file, save_file

    model = tmp_path / "model"
    shutil.copytree(bundled_model_dir(), model, ignore=shutil.ignore_patterns("model.safetensors"))
    weights = load_file(str(bundled_model_dir() / "model.safetensors"))
    save_file({k: v.astype(np.float16) if v.dtype == np.float32 else v for k, v in weights.items()},
              str(model / "model.safetensors"))
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    half = OnnxEmbedder(model).encode(TEXTS[:1])
    assert float((half * embedder.encode(TEXTS[:1])).sum()) > 0.999
