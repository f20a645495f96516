"""Settings read from the environment, in one place.

The library reads these variables and nothing else:

- `RAG_INDEX_DIR`: where the default index lives (default: `index/` in a source
  checkout, else `~/.cache/rag/index`).
- `RAG_MODEL_DIR`: a local sentence-transformers model directory to use instead of
  the bundled all-MiniLM-L6-v2 weights.
- `RAG_CACHE_DIR`: where the model's one-time ONNX export is kept (default:
  `$XDG_CACHE_HOME/rag` or `~/.cache/rag`).
- `MILVUS_TOKEN`: sent to a Milvus server that asks for one (`user:password`
  or an API key), for indexes in Milvus (see `rag.milvus`).
- `RAG_GENERATOR`: the model the chat page offers for written answers (see
  `rag.generation`); `RAG_GENERATE_TIMEOUT`: seconds a model may take to
  write one answer (default 60); `OPENAI_API_KEY`: sent to an OpenAI-compatible
  server that wants one.

It also forces the Hugging Face libraries offline: a hub download is never what a
user of this tool wants, and on a machine without network it would hang or fail.
"""

import os
from pathlib import Path

# Set before transformers / huggingface_hub are imported anywhere.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_ARTICLE = PACKAGE_DIR / "data" / "article.txt"

# Limits that keep one bad input from stalling the tool.
MAX_QUESTION_CHARS = 1000
MAX_FILE_BYTES = 20 * 1024 * 1024


def default_index_dir() -> Path:
    if env := os.environ.get("RAG_INDEX_DIR"):
        return Path(env).expanduser()
    checkout = PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / "index"
    return cache_dir() / "index"


def cache_dir() -> Path:
    if env := os.environ.get("RAG_CACHE_DIR"):
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag"


def model_dir_override() -> Path | None:
    env = os.environ.get("RAG_MODEL_DIR")
    return Path(env).expanduser() if env else None


def milvus_token() -> str:
    return os.environ.get("MILVUS_TOKEN", "")


def default_generator() -> str | None:
    return os.environ.get("RAG_GENERATOR") or None


def generate_timeout() -> float:
    """Seconds a model may take to write one answer (`RAG_GENERATE_TIMEOUT`, default 60)."""
    try:
        seconds = float(os.environ.get("RAG_GENERATE_TIMEOUT") or 60)
    except ValueError:
        return 60.0
    return seconds if 0 < seconds < 86_400 else 60.0  # also refuses inf and nan
