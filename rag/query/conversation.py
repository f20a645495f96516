"""Conversation: understand a follow-up question from the turns before it.

People ask "And what did he say about South Korea?" after a question about
Pistorius, or just "What about India?". `standalone` rewrites such a question
into one that stands alone, so the rest of the pipeline needs no memory:

- a leading "and", "so", "also" or "but" is dropped;
- when the question names nobody, "he/him/his" or "she/her" become the person
  the last turn was about (the person it named, else the speaker it quoted),
  if that person's gender, when known, fits the pronoun;
- "What about X?" takes the last question and puts X where its person was, if
  X is a person ("What did Healey say about …?" -> "What did X say about …?"),
  else where its topic was ("… say about international law?" -> "… say about X?").

A question that already names someone, or has no earlier turn, is left as is.
When "What about X?" in the last question's frame has no answer, `fallback`
asks what X said instead ("What point did Y put to peers?" does not fit the
minister who answered Y), unless that frame named a topic ("… about Z?").

Left out: more than one turn of look-back, plural pronouns, ellipsis other than
"what about".
"""

import re
from dataclasses import dataclass
from typing import Sequence

from ..speakers import Person
from ..store import Index
from .question import named_people

_PRONOUNS = {"he": "m", "him": "m", "his": "m", "she": "f", "her": "f"}


@dataclass(frozen=True)
class Turn:
    question: str                 # as understood, standing alone
    quoted: Person | None = None  # who its answer quoted first (None when it was refused)


def standalone(question: str, previous: Sequence[Turn], index: Index) -> str:
    """`question` rewritten to stand alone, given the turns before it."""
    question = question.strip()
    bare = _bare(question) or question
    about = _about(bare)
    if previous and about:
        topic, last = about.group(1), previous[-1]
        named_now, named_then = named_people(topic, index), named_people(last.question, index)
        if named_now and named_then:  # someone new in the same frame: swap the person
            (start, end) = named_then[0][1]
            return f"{last.question[:start]}{topic}{last.question[end:]}"
        if named_now:
            return bare
        earlier = re.match(r"(.* about )(.+?)(\?)?$", last.question)
        if earlier:
            return f"{earlier.group(1)}{topic}?"
        subject = _subject(last, index)
        if subject:
            return f"What did {subject.name} say about {topic}?"
        return bare

    if not previous or named_people(bare, index):
        return bare
    last = previous[-1]
    subject = _subject(last, index)

    if subject is None:
        return bare

    return name_pronoun(bare, subject)


def name_pronoun(text: str, person: Person) -> str:
    """`text` with its first he/him/his/she/her as `person`, if the gender fits:
    "What did he say?" -> "What did Boris Pistorius say?", "her view" -> "Baroness Chapman’s view"."""
    def replace(m: re.Match) -> str:
        word = m.group(0)
        if person.gender and person.gender != _PRONOUNS[word.lower()]:
            return word
        possessive = word.lower() == "his" or (word.lower() == "her" and _followed_by_noun(text, m.end()))
        return f"{person.name}’s" if possessive else person.name

    return re.sub(r"\b(he|him|his|she|her)\b", replace, text, count=1, flags=re.IGNORECASE)


def fallback(question: str, previous: Sequence[Turn], index: Index) -> str | None:
    """What to ask instead when "What about X?" in the last question's frame has
    no answer: what X said ("What point did Y put to the Lords?" does not fit the
    minister who answered it)."""
    about = _about(_bare(question.strip()))
    # Not when the frame names a topic: "What did Y say about Z?" then "What about X?"
    # asks about Z, and if X said nothing about Z, that is the answer.
    if previous and about and named_people(about.group(1), index) and " about " not in previous[-1].question:
        return f"What did {about.group(1)} say?"
    return None


def _bare(question: str) -> str:
    """The question without a leading "and", "so", "also" or "but", capitalised."""
    bare = re.sub(r"^(and|so|also|but)\b[\s,]*", "", question, flags=re.IGNORECASE)
    return bare[:1].upper() + bare[1:]


def _about(bare: str) -> re.Match | None:
    """"What about X?", with X as group 1."""
    return re.fullmatch(r"(?:what|how) about (.+?)\??", bare, flags=re.IGNORECASE)


def _subject(turn: Turn, index: Index) -> Person | None:
    named = named_people(turn.question, index)
    if named:
        return named[0][0]
    return turn.quoted


def _followed_by_noun(text: str, at: int) -> bool:
    """"her view" (possessive) rather than "told her" or "her say"."""
    nxt = re.match(r"\s+([A-Za-z]+)", text[at:])
    return bool(nxt) and nxt.group(1).lower() not in {"say", "said", "to", "about", "that", "and", "in", "on", "at", "as"}
