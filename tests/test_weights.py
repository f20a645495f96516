"""The answer step's numbers are the fitted ones, and combine named features."""

import json
from dataclasses import fields

import pytest

import rag
from rag.weights import EVIDENCE, MATCHING, SELECTION, TIE_BREAKERS, WEIGHTS_FILE, Weights, fitted


def test_the_weights_file_holds_every_weight_and_the_commands_that_fitted_them():
    saved = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    assert saved["fitted_by"]["features"].startswith(".venv/bin/python bench/weights.py")
    assert saved["fitted_by"]["selection"].startswith(".venv/bin/python bench/selection.py")
    assert set(saved["adopted"]) == {"features", "selection"}
    assert set(saved["weights"]) == {f.name for f in fields(Weights)}
    assert fitted() == Weights(**saved["weights"])


def test_the_answer_step_uses_the_fitted_selection_and_matching_numbers():
    from bench.selection import TARGETS

    assert set(TARGETS) == set(SELECTION + MATCHING)  # the fitting script tries every one of them
    for name, (module, attr) in TARGETS.items():
        assert getattr(module, attr) == getattr(fitted(), name), f"{module.__name__}.{attr}"


def test_confidence_and_rank_are_the_weighted_sums_of_the_named_features(article_index):
    found = rag.explain("How many North Korean troops are thought to be involved?", article_index)
    w = fitted()
    assert found.candidates and found.min_confidence == w.min_confidence
    for c in found.candidates:
        confidence = sum(getattr(w, n) * getattr(c.features, n) for n in EVIDENCE)
        assert c.confidence == pytest.approx(confidence)
        assert c.score == pytest.approx(confidence + sum(getattr(w, n) * getattr(c.features, n) for n in TIE_BREAKERS))
    assert found.answer.text.startswith(found.candidates[0].text[:40])


def test_explain_reads_an_empty_or_unknown_question_as_ask_does(article_index):
    with pytest.raises(rag.QuestionError):
        rag.explain("", article_index)
    found = rag.explain("Was sagte Zoë Ñúñez über Europa?", article_index)
    assert found.answer.abstained
