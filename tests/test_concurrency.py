"""Many questions at once on one loaded index: each gets its own right answer."""

import rag

from .threads import run_threads

QUESTIONS = [
    "What did Pistorius say about international law?",
    "Who is John Healey?",
    "How many North Korean troops are in Russia?",
    "What did Healey say about Ukraine?",
    "Who is Boris Pistorius?",
]


def test_sixteen_threads_fifty_questions_each(article_index):
    expected = {q: rag.ask(q, article_index) for q in QUESTIONS}
    # Every thread asks each question ten times, often the same question at the
    # same moment as other threads (what wedged the encoder's queue).
    work = [QUESTIONS[i % len(QUESTIONS)] for i in range(50)]
    results = run_threads(16, lambda _: [(q, rag.ask(q, article_index)) for q in work])
    answered = [pair for each in results for pair in each]
    assert len(answered) == 16 * 50
    for question, answer in answered:
        assert (answer.text, answer.citations) == (expected[question].text, expected[question].citations), question
