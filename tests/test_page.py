"""The chat page's text handling, without a browser: what a document's words
become in an answer bubble."""

import rag
from rag.page.rendering import answer_markdown
from rag import Part
from rag.chunking import Passage

CITED = [Passage(doc_id="d", text="x", start=0, end=1), Passage(doc_id="d", text="y", start=2, end=3)]


def test_only_citation_markers_become_links():
    parts = (Part("Jones said the tunnel [1] would open in 2026.", 1), Part("It costs €5.", 2, "Ann Lee"))
    answer = rag.Answer("q", "Jones said the tunnel [1] would open in 2026. [1] It costs €5. — Ann Lee [2]", False, CITED,
                        parts=parts)
    assert answer.markers() == [(46, 49, 1), (73, 76, 2)]
    assert answer_markdown(answer.text, answer, "a3") == (
        'Jones said the tunnel \\[1\\] would open in 2026. <a class="cite" href="#a3-s1">[1]</a> '
        'It costs €5. — Ann Lee <a class="cite" href="#a3-s2">[2]</a>')
    # While it streams, a marker not yet complete stays text.
    assert answer_markdown(answer.text[:48], answer, "a3").endswith("2026. \\[1")


def test_a_documents_markup_maths_and_entities_stay_literal():
    text = "Costs rose from $$5$$ to *£6* &lt;b&gt; <img src=x onerror=alert(1)> [link](http://x). [1]"
    answer = rag.Answer("q", text, False, CITED[:1], parts=(Part(text[:-4], 1),))
    shown = answer_markdown(text, answer, "a1")
    assert shown == ("Costs rose from \\$\\$5\\$\\$ to \\*£6\\* &amp;lt;b&amp;gt; \\<img src=x onerror=alert\\(1\\)\\> "
                     '\\[link\\]\\(http://x\\). <a class="cite" href="#a1-s1">[1]</a>')


def test_an_abstention_has_no_links():
    answer = rag.Answer("q", "The documents don't say: they never mention “Macron”.", True, [])
    assert answer.markers() == [] and answer_markdown(answer.text, answer, "a1") == answer.text


def test_an_answer_citing_two_documents_says_which_sentence_is_from_which():
    from rag.page.rendering import document_labels

    town = [Passage(doc_id="town-hall.txt", text="The project costs £1.2 million.", start=0, end=31),
            Passage(doc_id="library.md", text="The repairs cost £2.4 million.", start=0, end=30)]
    parts = (Part("The project costs £1.2 million.", 1), Part("The repairs cost £2.4 million.", 2))
    answer = rag.Answer("q", "The project costs £1.2 million. [1] The repairs cost £2.4 million. [2]", False, town,
                        parts=parts)
    shown = answer_markdown(answer.text, answer, "a1", document_labels(answer))
    assert shown == ('The project costs £1.2 million. <a class="cite" href="#a1-s1">[1]</a> '
                     '<span class="doc">(town-hall.txt)</span> The repairs cost £2.4 million. '
                     '<a class="cite" href="#a1-s2">[2]</a> <span class="doc">(library.md)</span>')
    one = rag.Answer("q", answer.text, False, [town[0], town[0]], parts=parts)
    assert document_labels(one) == {}  # one document: nothing to tell apart


def test_going_back_to_a_question_drops_it_and_all_after_it_however_long_the_chat():
    from rag.page.rendering import md, unescaped
    from rag.page.sessions import Session

    session = Session()
    for n in range(7):  # more than rag.ask reads back: the cut is by position, not by a capped list
        at = session.post({"role": "user", "content": f"q{n}"})
        session.questions[at] = (f"q{n}", len(session.asked))
        session.post({"role": "assistant", "content": f"a{n}"})
        session.asked = session.asked + [f"q{n}"]
    assert session.back_to(8) == "q4" and session.asked == ["q0", "q1", "q2", "q3"]
    assert len(session.messages) == 8 and session.back_to(9) is None  # an answer is not a question
    typed = "What did R&D cost ($5bn) *now*? [1] #x <b> ~ \\ back"
    assert unescaped(md(typed)) == typed  # an edited bubble comes back as typed
