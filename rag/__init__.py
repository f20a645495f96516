"""Grounded question answering over documents, offline.

    >>> import rag
    >>> answer = rag.ask("What did Pistorius say about international law?")
    >>> answer.text, answer.citations[0].speaker
    >>> [(p.text, p.speaker, p.citation) for p in answer.parts]

See README.md for the command line and the index format.
"""

from .answer import Answer, Answerer, ExtractiveAnswerer, Part
from .api import Explanation, ask, build_index, check_question, explain, load_index, retrieve
from .chunking import Passage
from .documents import Document, load_documents
from .errors import (
    DocumentError,
    GenerationError,
    IndexFormatError,
    MissingDependencyError,
    ModelError,
    QuestionError,
    RagError,
)
from .store import Index, open_index

__all__ = [
    "Answer", "Answerer", "Document", "DocumentError", "Explanation", "ExtractiveAnswerer", "GenerationError", "Index",
    "IndexFormatError", "MissingDependencyError", "ModelError", "Part", "Passage", "QuestionError",
    "RagError", "ask", "build_index", "check_question", "explain", "load_documents", "load_index",
    "open_index", "retrieve",
]
