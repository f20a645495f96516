"""Errors a user can cause, with messages written for that user.

Every exception the library raises on purpose derives from `RagError`; its
message is one line that names the problem and, where there is one, the fix.
Only `rag.cli` and `app.py` turn these into exit codes or chat messages: the
library itself never prints a traceback or exits.

Programming errors (a wrong type passed to a function) are left as the usual
Python exceptions; they are bugs, not bad input.
"""


class RagError(Exception):
    """Base class. `str(error)` is a one-line message meant for the user."""


class DocumentError(RagError):
    """A source file is missing, empty, binary, too large, or of an unsupported type."""


class QuestionError(RagError):
    """A question is empty or too long."""


class IndexFormatError(RagError):
    """An index on disk is missing, corrupt, or was built with another model or chunker."""


class ModelError(RagError):
    """The embedding model cannot be loaded from local files."""


class GenerationError(RagError):
    """A generative model is missing, failed, or took longer than its timeout;
    the answer is then the extractive one."""


class MissingDependencyError(RagError):
    """An optional dependency is not installed; the message says how to install it."""


def one_line(exc: BaseException, limit: int = 300) -> str:
    """A library's exception text as one short line, to quote in a message of ours."""
    return " ".join(str(exc).split())[:limit]
