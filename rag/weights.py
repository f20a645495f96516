"""Weights: every number that decides an answer, in one place.

Three groups, each fitted by a script in `bench/` on training questions and
checked on held-out ones; `rag/data/weights.json` holds the values, read here:

- `EVIDENCE` and `TIE_BREAKERS` (`bench/weights.py`): how the scorer's named
  features combine into a sentence's confidence and rank, and the bar for
  answering (`min_confidence`). Similarity is the unit the others are measured
  in, so its weight is fixed at 1.
- `SELECTION` (`bench/selection.py`): how the answer forms choose among scored
  sentences (a factoid's near tie, a list's further items, a summary's lead and
  redundancy, a comparison's sides, a later part's bar).
- `MATCHING` (`bench/selection.py`): how close a reader's word must be to the
  documents' to stand for it (by meaning, as a synonym, by spelling).

The defaults below are the hand-set values the fits start from; a fit is
adopted only when no held-out set loses by it. Left out: limits that are not
evidence (answer lengths, how many sentences a list or summary quotes, pool
sizes), which stay named constants where used.
"""

import json
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path

WEIGHTS_FILE = Path(__file__).resolve().parent / "data" / "weights.json"


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
SELECTION = ("runner_up", "also", "lead_bonus", "headline_bonus", "redundancy", "repeat", "side_confidence",
             "central_weight", "later_part_confidence")
MATCHING = ("meaning_similarity", "synonym_similarity", "word_similarity")


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
    # SELECTION
    runner_up: float = 0.9        # factoid: a second sentence ranked within this share of the best is quoted too
    also: float = 0.8             # list: a further sentence must rank at least this share of the best
    lead_bonus: float = 0.3       # summary: added to the first passage, falling to 0 at the end (news leads with its point)
    headline_bonus: float = 1.0   # summary: added to a headline, the writer's own summary
    redundancy: float = 0.5       # summary: marginal relevance, times the cosine to what is already chosen
    repeat: float = 0.8           # summary: a passage this close (cosine) to one chosen says it again
    side_confidence: float = 0.5  # comparison: a side is quoted down to this confidence
    central_weight: float = 0.5   # comparison: weight of how central a sentence is among its side's
    later_part_confidence: float = 0.6  # the bar for a later part once an earlier part is answered
    # MATCHING
    meaning_similarity: float = 0.63  # cosine for a reader's word to stand for the documents' nearest
    synonym_similarity: float = 0.8   # cosine for two common words of the documents to stand for each other
    word_similarity: float = 90.0     # RapidFuzz ratio for a mistyped long common word to be corrected

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


def write(weights: Weights, names: tuple[str, ...], *, group: str, fitted_by: str, adopted: bool) -> None:
    """Store `names` of `weights` in WEIGHTS_FILE, with the command that fitted
    them and whether it was adopted under `group`, keeping the other groups'."""
    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8")) if WEIGHTS_FILE.is_file() else {}
    values = {**asdict(Weights()), **data.get("weights", {}), **{n: getattr(weights, n) for n in names}}
    data = {"fitted_by": {**data.get("fitted_by", {}), group: fitted_by},
            "adopted": {**data.get("adopted", {}), group: adopted}, "weights": values}
    WEIGHTS_FILE.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
