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


STORES = ["local", pytest.param("milvus", marks=pytest.mark.extra)]


def store_options(name: str, where) -> dict:
    """`build_index` options that put an index on the store `name`: Milvus Lite
    is a real embedded Milvus, in a database file beside the index."""
    if name == "local":
        return {}
    pytest.importorskip("pymilvus", reason="the milvus extra: pip install -e '.[milvus]'")
    return {"milvus": str(where / "milvus.db")}


@pytest.fixture(params=STORES)
def store(request, tmp_path):
    """Build options for each store in turn: the behaviour tests pass on both."""
    return store_options(request.param, tmp_path)


@pytest.fixture(scope="session", params=STORES)
def article_index_on_each_store(request, tmp_path_factory, embedder):
    """The bundled article indexed with the real model, on each store in turn."""
    where = tmp_path_factory.mktemp(f"article-{request.param}")
    return rag.build_index([BUNDLED_ARTICLE], where / "index", embedder=embedder, **store_options(request.param, where))
