"""Query: what a reader asks, understood before anything is retrieved or scored.

The understand stage, one module each:

- `conversation`: a follow-up ("And what did he say about Europe?", "What
  about India?") rewritten to stand alone, from the turns before it;
- `vocabulary`: a reader's names as the documents' names (typos, other names
  for countries), and words matched by meaning, synonyms and regions;
- `question`: what is asked, as a typed `Query`: form, kind of answer, people,
  actor, topic, direction, names no document has.

A question of several parts ("Who is X, and what did he say …?") is split
here too (`split_parts`), with "he" in a later part read as the person an
earlier part named. `understand` runs all of it and returns the `Query` (with
its `parts`), which `rag ask --explain` prints; the answer step reads each part
with `read_question`.

This stage scores nothing: it reads words (how close a reader's word must be to
the documents' is fitted, in `rag/weights.py`). Left out:
parsing (these are patterns over words), negation, languages other than English.
"""

from dataclasses import replace
from typing import Sequence

from ..speakers import Person
from ..store import Index
from .conversation import Turn, fallback, name_pronoun, standalone
from .question import UNCERTAIN, Query, named_people, parts, read_question
from .vocabulary import by_meaning, country_of, rewrite

__all__ = ["Query", "Turn", "UNCERTAIN", "by_meaning", "country_of", "fallback", "named_people", "parts", "read",
           "read_question", "rewrite", "split_parts", "standalone", "understand"]

# Parts answered at most: a question of more is read as its first four.
MAX_PARTS = 4


def understand(question: str, index: Index, turns: Sequence[Turn] = (), *, embedder=None) -> Query:
    """`question` as the answer step reads it: names mended, made to stand alone
    after `turns`, and split into its parts (`Query.parts`, when more than one)."""
    text = rewrite(question, index, embedder)
    return read(standalone(text, turns, index) if turns else text, index)


def read(text: str, index: Index) -> Query:
    """A question whose names are already mended, read with its parts."""
    query = read_question(text, index)
    pieces = split_parts(text, index)
    return replace(query, parts=[read_question(p, index) for p in pieces]) if len(pieces) > 1 else query


def split_parts(question: str, index: Index) -> list[str]:
    """The questions a multi-part question asks (at most `MAX_PARTS`), each
    standing alone: "he" in a later part is the person an earlier part named."""
    pieces = parts(question)
    if len(pieces) == 1:
        return pieces
    out: list[str] = []
    earlier: list[Person] = []
    for piece in pieces[:MAX_PARTS]:
        if earlier and not named_people(piece, index):
            piece = name_pronoun(piece, earlier[-1])
        earlier += [p for p, _ in named_people(piece, index)]
        out.append(piece)
    return out
