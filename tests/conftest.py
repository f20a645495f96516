import pytest

import rag
from rag.config import BUNDLED_ARTICLE
from rag.embedding import HashingEmbedder, default_embedder

ARTICLE = BUNDLED_ARTICLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def embedder():
    """The real bundled all-MiniLM-L6-v2, loaded once for the whole run."""
    return default_embedder()


@pytest.fixture(scope="session")
def article_index(tmp_path_factory, embedder):
    """The bundled article indexed with the real model, in a private directory."""
    return rag.build_index([BUNDLED_ARTICLE], tmp_path_factory.mktemp("article") / "index", embedder=embedder)


@pytest.fixture
def hashing():
    """A tiny deterministic embedder for tests of the plumbing only."""
    return HashingEmbedder(dim=32)
