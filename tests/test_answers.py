"""Behaviour of ask and retrieve with the real bundled model."""

import re

import pytest

import rag
from rag import Document, Part, QuestionError
from rag.evaluation import evaluate, read_cases

from .conftest import ARTICLE

DATA = __import__("pathlib").Path(__file__).parent / "data"


@pytest.fixture
def article_index(article_index_on_each_store):
    """Each test here runs on the local store and on Milvus Lite (see conftest)."""
    return article_index_on_each_store


def quoted_pieces(answer):
    """(citation number, text) for each part of an answer that must be verbatim
    text of that citation: every sentence, less "…" where it was cut."""
    return [(p.citation, piece.strip()) for p in answer.parts for piece in p.text.split("…") if piece.strip()]


def test_pistorius_international_law(article_index):
    answer = rag.ask("What did Pistorius say about international law?", article_index)
    assert not answer.abstained
    assert answer.text == (
        "German defence minister Boris Pistorius said “we are checking the implications with regard to "
        "international law” of the development but “it is a kind of escalation”. [1]"
    )
    [cited] = answer.citations
    assert (cited.doc_id, cited.start, cited.end, cited.speaker) == ("article.txt", 749, 914, "Boris Pistorius")
    assert ARTICLE[cited.start:cited.end] == cited.text


def test_speaker_carried_to_a_sentence_that_does_not_name_him(article_index):
    answer = rag.ask("What did Healey say about the Indo-Pacific?", article_index)
    assert answer.text == (
        "“There is an indivisible link with security concerns in the Indo-Pacific as well.” — John Healey [1]"
    )
    top = rag.retrieve("What did Healey say about the Indo-Pacific?", k=3, index=article_index)
    assert top[0].text == "“There is an indivisible link with security concerns in the Indo-Pacific as well.”"
    assert top[0].speaker == "John Healey"
    assert [p.score for p in top] == sorted((p.score for p in top), reverse=True)


def test_dev_set_all_correct(article_index):
    report = evaluate(read_cases(DATA / "article_dev.jsonl"), article_index)
    wrong = [(o.id, o.answer) for o in report.outcomes if not o.correct]
    assert wrong == []
    assert report.max_answer_chars <= 400


@pytest.mark.parametrize("question", [
    "What did Emmanuel Macron say about the troops?",
    "What is the capital of France?",
    "What did Healey say about China?",
    "How much oil does Russia export?",
    "What did Putin say?",
    "Was sagte Pistorius über das Völkerrecht?",
])
def test_abstains_when_the_documents_do_not_say(article_index, question):
    answer = rag.ask(question, article_index)
    assert answer.abstained
    assert answer.text.startswith("The documents don't say")
    assert answer.citations == []


def test_abstention_names_what_is_missing(article_index):
    answer = rag.ask("What did Emmanuel Macron say about the troops?", article_index)
    assert answer.text == "The documents don't say: they never mention “Emmanuel Macron”."


@pytest.mark.parametrize("question", [
    "What did Pistorius say about South Korea?",
    "Who condemned the move by Pyongyang?",
    "Where did Lord Stirrup speak?",
    "What did the German defence minister warn about?",
    "Why is it harder to de-escalate tensions?",
    "What is the role of Baroness Chapman?",
])
def test_every_answer_is_quoted_from_its_citation(article_index, question):
    answer = rag.ask(question, article_index)
    assert not answer.abstained and re.search(r"\[\d\]$", answer.text) and len(answer.text) <= 400
    pieces = quoted_pieces(answer)
    assert {n for n, _ in pieces} == set(range(1, len(answer.citations) + 1))
    for n, piece in pieces:
        assert piece in answer.citations[n - 1].text


def test_follow_up_answers_use_the_right_speaker(article_index):
    assert "South Korea" in rag.ask("What did Pistorius say about South Korea?", article_index).text
    answer = rag.ask("Where did Lord Stirrup speak?", article_index)
    assert answer.text.startswith("Speaking later in Parliament, former military chief Lord Stirrup said:")


def test_long_sentence_is_cut_to_a_verbatim_window(tmp_path, embedder, store):
    filler = ", ".join(f"the {w} committee met" for w in ["first", "second", "third", "fourth", "fifth"] * 6)
    text = f"Officials reported that {filler}, and finally the harbour authority approved the new lighthouse in Bergen."
    index = rag.build_index([Document(id="long", text=text)], tmp_path / "ix", embedder=embedder, **store)
    answer = rag.ask("Who approved the new lighthouse?", index)
    assert len(text) > 600 and len(answer.text) <= 400
    assert "the harbour authority approved the new lighthouse in Bergen." in answer.text
    assert answer.text.startswith("…")
    for _, piece in quoted_pieces(answer):
        assert piece in text


def test_own_documents_answer_questions(tmp_path, embedder, store):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "harbour.md").write_text(
        "# Harbour news\n\nThe mayor of Tromsø, Kari Nilsen, said the new ferry will carry 240 passengers.\n\n"
        "She added: “It runs on batteries and starts in June.”\n", encoding="utf-8")
    index = rag.build_index([tmp_path / "docs"], tmp_path / "ix", embedder=embedder, **store)
    answer = rag.ask("How many passengers will the ferry carry?", index)
    assert answer.text == "The mayor of Tromsø, Kari Nilsen, said the new ferry will carry 240 passengers. [1]"
    answer = rag.ask("When does the ferry start?", index)
    assert answer.text == "She added: “It runs on batteries and starts in June.” — Kari Nilsen [1]"
    assert answer.parts == (Part("She added: “It runs on batteries and starts in June.”", 1, "Kari Nilsen"),)
    assert answer.citations[0].doc_id == "harbour.md"


@pytest.mark.parametrize("question, message", [
    ("", "the question is empty"),
    ("   \n\t ", "the question is empty"),
    ("x" * 100_000, r"the question is too long \(100,000 characters; the limit is 1,000\)"),
    (None, "the question must be text"),
])
def test_bad_questions(article_index, question, message):
    with pytest.raises(QuestionError, match=message):
        rag.ask(question, article_index)
    with pytest.raises(QuestionError, match=message):
        rag.retrieve(question, index=article_index)


def test_retrieve_modes_rank_by_one_signal_or_both(article_index):
    question = "Indo-Pacific security link"
    for mode in ("dense", "lexical", "hybrid"):
        top = rag.retrieve(question, k=2, index=article_index, mode=mode)
        assert top[0].text == "“There is an indivisible link with security concerns in the Indo-Pacific as well.”"
    lexical = rag.retrieve("zzzz", k=3, index=article_index, mode="lexical")
    assert lexical == []  # no word matches, and BM25 alone has nothing else to go on
    with pytest.raises(ValueError, match="mode must be one of"):
        rag.retrieve(question, index=article_index, mode="magic")


def test_near_tie_quotes_both_sentences_each_cited(article_index):
    answer = rag.ask("What has North Korea been supplying to Russia?", article_index)
    assert answer.text == (
        "“We know that North Korea have been providing weapons and ammunition to Russia. — John Healey [1] "
        "“North Korea delivering, providing ammunition, weapons to Russia. — Boris Pistorius [2]"
    )
    assert [p.speaker for p in answer.citations] == ["John Healey", "Boris Pistorius"]


def test_accents_and_acronyms_do_not_make_it_abstain(tmp_path, embedder, store):
    text = "Tesla was born in Smiljan and went to school in Gospić. The WWI years were hard for the lab."
    index = rag.build_index([Document(id="t", text=text)], tmp_path / "ix", embedder=embedder, **store)
    answer = rag.ask("Where did Tesla go to school, in Gospic?", index)
    assert answer.text == "Tesla was born in Smiljan and went to school in Gospić. [1]"
    # An unknown acronym may be spelt out in the text: it alone is no reason to abstain.
    assert "never mention" not in rag.ask("Where did Tesla go to school before WWII?", index).text
    assert rag.ask("What did Tesla's brother Dane say?", index).text == (
        "The documents don't say: they never mention “Dane”."
    )


def test_lone_surrogates_are_replaced_not_a_traceback(tmp_path, embedder, store, article_index):
    # Invalid UTF-8 on a command line arrives as lone surrogates; so can a broken JSON string.
    answer = rag.ask("What did Pistorius say about \ud800 international law?", article_index)
    assert answer.citations[0].speaker == "Boris Pistorius"
    assert answer.question == "What did Pistorius say about \ufffd international law?"
    index = rag.build_index([Document(id="s", text="The ferry starts in June.\ud800\n\nIt carries 240 cars.")],
                            tmp_path / "ix", embedder=embedder, **store)
    assert index.documents["s"].text == "The ferry starts in June.\ufffd\n\nIt carries 240 cars."
    assert rag.ask("How many cars does it carry?", index).text == "It carries 240 cars. [1]"
