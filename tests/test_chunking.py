from rag.chunking import chunk, index_text, split_sentences

from .conftest import ARTICLE


def sentences(text):
    return [text[s:e] for s, e, _ in split_sentences(text)]


def test_sentence_splitter_handles_titles_numbers_and_quotes():
    text = 'Mr. Smith said "It is 1,500 troops." Dr Jones, of the U.S. Army, agreed. “Yes,” she said.'
    assert sentences(text) == [
        'Mr. Smith said "It is 1,500 troops."',
        "Dr Jones, of the U.S. Army, agreed.",
        "“Yes,” she said.",
    ]


def test_wrapped_lines_inside_a_paragraph_are_not_sentence_ends():
    text = "The plan was approved\nby the council in May.\n\nA second paragraph\nfollows here."
    assert sentences(text) == ["The plan was approved\nby the council in May.", "A second paragraph\nfollows here."]


def test_offsets_point_into_the_document():
    result = chunk("a", ARTICLE)
    assert len(result.passages) == 24  # one passage a paragraph: each is one sentence
    for p in result.passages:
        assert ARTICLE[p.start:p.end] == p.text
        assert [ARTICLE[s:e] for s, e in p.sentences] and p.sentences[0][0] == p.start and p.sentences[-1][1] == p.end


def test_article_speakers():
    by_start = {p.text[:40]: p.speaker for p in chunk("a", ARTICLE).passages}
    expected = {
        "Defence Secretary John Healey said it wa": "John Healey",
        "He said that as well as being an escalat": "John Healey",  # "He" -> last speaker
        "German defence minister Boris Pistorius ": "Boris Pistorius",
        "He said it was not clear how many troops": "Boris Pistorius",
        "“North Korea delivering, providing ammun": "Boris Pistorius",  # quote continues over paragraphs
        "That had a knock-on effect for relations": "Boris Pistorius",  # "…, he suggested."
        "Mr Healey said both the UK and Germany c": "John Healey",  # surname -> full name
        "The Defence Secretary said: “It looks hi": "John Healey",  # role -> person
        "“There is an indivisible link with secur": "John Healey",
        "The independent crossbencher, who served": "Lord Stirrup",  # description -> latest speaker
        "She told peers: “This is further evidenc": "Baroness Chapman of Darlington",
        "The UK and Germany expressed concern tha": None,  # narration
    }
    assert {k: by_start[k] for k in expected} == expected


def test_people_carry_roles_and_genders():
    people = {p.name: (p.role, p.gender) for p in chunk("a", ARTICLE).people}
    assert people["John Healey"] == ("Defence Secretary", "m")
    assert people["Boris Pistorius"] == ("German defence minister", "m")
    assert people["Baroness Chapman of Darlington"] == ("foreign minister", "f")
    assert people["Vladimir Putin"] == ("President", "m")  # a first name that tells


def test_pronoun_follows_gender_and_quote_attribution_backfills():
    text = (
        "Mayor Anna Berg said the bridge would reopen.\n"
        "Mr Olsen said he disagreed with the plan.\n"
        "“It is too early. The cracks are still there,” she said.\n"
        "The weather was cold."
    )
    speakers = [(p.text[:12], p.speaker) for p in chunk("d", text).passages]
    assert speakers == [
        ("Mayor Anna B", "Anna Berg"),
        ("Mr Olsen sai", "Olsen"),
        ("“It is too e", "Anna Berg"),  # "she" skips Mr Olsen; both sentences of the quote are hers
        ("The weather ", None),
    ]


def test_short_fragments_join_the_next_sentence_of_the_same_speaker():
    text = (
        "It rained. The final was moved to Sunday afternoon after a two-hour delay on the pitch. "
        "Ms Lee said the club would refund every ticket bought for the original date."
    )
    passages = chunk("d", text).passages
    assert [(p.text[:20], len(p.sentences), p.speaker) for p in passages] == [
        ("It rained. The final", 2, None),
        ("Ms Lee said the club", 1, "Lee"),
    ]


def test_index_text_puts_the_speaker_first():
    passage = next(p for p in chunk("a", ARTICLE).passages if "Indo-Pacific" in p.text)
    assert index_text(passage, "Defence Secretary") == (
        "John Healey (Defence Secretary): “There is an indivisible link with security concerns in the Indo-Pacific as well.”"
    )


def test_empty_and_non_ascii_text():
    assert chunk("e", "").passages == []
    result = chunk("u", "Der Minister sagte: „Wir prüfen das.“ Ça va très bien.")
    assert [p.text for p in result.passages] == ["Der Minister sagte: „Wir prüfen das.“ Ça va très bien."]


def test_name_set_off_by_commas_is_the_speaker():
    result = chunk("d", "The mayor of Tromsø, Kari Nilsen, said the new ferry will carry 240 passengers.")
    assert result.passages[0].speaker == "Kari Nilsen"
    assert [(p.name, p.role) for p in result.people] == [("Kari Nilsen", "mayor of Tromsø")]


def speakers_of(text):
    doc = chunk("d", text)
    return [(text[s:e], p.speaker) for p in doc.passages for s, e in p.sentences]


def test_subjects_before_relative_clauses_and_institutions():
    text = ("Local librarian Tom Whitcombe, who has worked at the Marsh Lane branch for 22 years, said staff "
            "learned of it from a newspaper.\n"
            "Economist Carla Ibáñez of the University of Santiago said the deal gave Chile leverage.\n")
    assert [who for _, who in speakers_of(text)] == ["Tom Whitcombe", "Carla Ibáñez"]


def test_called_is_speech_but_a_name_after_it_is_not_a_speaker():
    text = ('Opposition leader Daniel Reyes called the closures a betrayal. "Children will need two buses," he said.\n'
            "Crowds gather for a festival called Wianki.\n")
    assert [who for _, who in speakers_of(text)] == ["Daniel Reyes", "Daniel Reyes", None]


def test_a_quote_after_an_attributed_one_in_the_same_paragraph_keeps_its_speaker():
    text = '"We have waited a long time," Mr Kjeldsen said. "The ferries will carry 1,200 passengers."\n'
    assert [who for _, who in speakers_of(text)] == ["Kjeldsen", "Kjeldsen"]


def test_a_pronoun_goes_to_the_person_the_sentence_before_names_first():
    text = "Minister Pedro Soto disagreed with economist Carla Ibanez. He said the plan would fail.\n"
    assert [who for _, who in speakers_of(text)] == [None, "Pedro Soto"]


def test_headings_and_page_furniture_give_no_passage():
    text = ("Glacier Retreat Doubles, Study Finds\n"
            "By Jane Doe, CNN\n"
            "Updated 10:03 AM EST, Thu December 5, 2024\n"
            "Video Ad Feedback\n"
            "Alpine glaciers lost twice as much ice in the past decade.\n"
            "What Comes Next\n"
            "Residents must follow three rules:\n"
            "Parking is free for residents\n"
            "Source: CNN\n")
    assert [p.text for p in chunk("d", text).passages] == [
        "Glacier Retreat Doubles, Study Finds",  # the first line is the title
        "Alpine glaciers lost twice as much ice in the past decade.",
        "Residents must follow three rules:",
        "Parking is free for residents",  # a list item, not furniture
    ]
