"""Weights: how the scorer's named features combine, and the bar for answering.

A sentence's confidence is a weighted sum of what `scoring` measures of it
(`Features`); its rank adds small tie-breakers. The numbers are not set by
hand: `bench/weights.py` fits them on training questions (the article dev
sets, "What did X say about Y?" for PolNeAR train quotations, and near misses
to refuse: X asked about another article's topic) and checks them on held-out
ones (PolNeAR dev); it writes `rag/data/weights.json`, which is read here. The
defaults below are the hand-set values the fit starts from. Similarity is the
unit the others are measured in, so its weight is fixed at 1.

Left out: the limits that are not evidence (answer lengths, how many
sentences a list or summary quotes), which stay named constants where used.
"""

import json
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path

WEIGHTS_FILE = Path(__file__).resolve().parent.parent / "data" / "weights.json"


@dataclass(frozen=True)
class Features:
    """What the scorer measures of one sentence for one question."""

    similarity: float = 0.0          # cosine of its passage to the question
    covered: float = 0.0             # IDF share of the topic it holds (with speaker, synonyms, regions)
    covered_by_meaning: float = 0.0  # share held only by a word near in meaning to one no document has
    covered_by_setting: float = 0.0  # share held only by its setting (headline, lead, names just before)
    kind_missing: float = 0.0        # 1 when it holds no answer of the kind asked for
    kind_missing_strict: float = 0.0  # the same for numbers, money and times, which are found reliably
    echo: float = 0.0                # 1 when all it holds of that kind is the question's own words
    in_order: float = 0.0            # topic words in the question's order (pairs, up to two)
    about_person: float = 0.0        # 1 when by or about a person the question names
    speech_verb: float = 0.0         # 1 when it has the question's speech verb ("warned")


# Features that are evidence of an answer (confidence); the rest only order near ties.
EVIDENCE = ("similarity", "covered", "covered_by_meaning", "covered_by_setting", "kind_missing",
            "kind_missing_strict", "echo")
TIE_BREAKERS = ("in_order", "about_person", "speech_verb")


@dataclass(frozen=True)
class Weights:
    similarity: float = 1.0
    covered: float = 1.0
    covered_by_meaning: float = 0.75
    covered_by_setting: float = 0.5
    kind_missing: float = -0.5
    kind_missing_strict: float = -1.0
    echo: float = -1.0
    in_order: float = 0.1
    about_person: float = 0.1
    speech_verb: float = 0.1
    min_confidence: float = 0.75  # the best sentence's confidence needed to answer

    def confidence(self, f: Features) -> float:
        return sum(getattr(self, name) * getattr(f, name) for name in EVIDENCE)

    def rank(self, f: Features, confidence: float) -> float:
        return confidence + sum(getattr(self, name) * getattr(f, name) for name in TIE_BREAKERS)

    def to_json(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=1)
def fitted() -> Weights:
    """The weights `bench/weights.py` fitted (the defaults above if the file is absent)."""
    if not WEIGHTS_FILE.is_file():
        return Weights()
    found = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))["weights"]
    return Weights(**{f.name: float(found[f.name]) for f in fields(Weights) if f.name in found})
