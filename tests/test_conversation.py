import pytest

import rag
from rag.query import Turn, standalone


@pytest.fixture
def article_index(article_index_on_each_store):
    """Each test here runs on the local store and on Milvus Lite (see conftest)."""
    return article_index_on_each_store


@pytest.fixture
def turn(article_index):
    def make(question):
        answer = rag.ask(question, article_index)
        return Turn(question, None if answer.abstained else article_index.speaker_of(answer.citations[0]))
    return make


@pytest.mark.parametrize("follow_up, understood", [
    ("And what did he say about South Korea?", "What did Boris Pistorius say about South Korea?"),
    ("what about India?", "What did Pistorius say about India?"),
    ("Who is he?", "Who is Boris Pistorius?"),
    ("What did she say?", "What did she say?"),  # gender does not fit: left alone
    ("And what did Healey say about Europe?", "What did Healey say about Europe?"),  # names someone: left alone
])
def test_follow_ups_after_a_question_about_pistorius(article_index, turn, follow_up, understood):
    assert standalone(follow_up, [turn("What did Pistorius say about international law?")], article_index) == understood


def test_subject_comes_from_the_quoted_speaker_when_the_question_names_nobody(article_index, turn):
    first = turn("What did the foreign minister tell peers?")
    assert standalone("What was her view on Ukraine?", [first], article_index) == (
        "What was Baroness Chapman of Darlington’s view on Ukraine?"
    )
    first = turn("Which countries' relationships felt a knock-on effect?")  # names nobody; Pistorius is quoted
    assert standalone("Did he mention Ukraine?", [first], article_index) == "Did Boris Pistorius mention Ukraine?"


def test_first_question_and_non_ascii_are_left_alone(article_index):
    assert standalone("Was sagte er über Völkerrecht?", [], article_index) == "Was sagte er über Völkerrecht?"
    assert standalone("", [], article_index) == ""


def test_follow_up_answers_end_to_end(article_index, turn):
    question = standalone("And what did he say about South Korea?",
                          [turn("What did Pistorius say about international law?")], article_index)
    answer = rag.ask(question, article_index)
    assert answer.citations[0].speaker == "Boris Pistorius" and "security of South Korea" in answer.text
