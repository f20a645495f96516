"""Chunking: split a document into sentences, work out who says each one, and
group them into small passages.

Sentences come from BlingFire (Microsoft's fast tokenizer; handles quotes,
"Mr", "U.S.", "1,500"), about a hundred times faster than pysbd with the same
splits on news text.
A paragraph is a line, or, when the text has blank lines, a block between them;
no sentence or passage crosses a paragraph.

Speakers. News text attributes words across sentences: "He added: “…", a quote
running over several paragraphs, "The Defence Secretary said". For every sentence
we look, outside quotation marks, for a speech verb ("said", "warned", "told" …)
and the subject next to it, then resolve that subject:

- a name ("Mr Pistorius") to the full name seen earlier ("Boris Pistorius");
- a role ("The Defence Secretary") to the person introduced with it
  ("Defence Secretary John Healey");
- "he"/"she" to the latest speaker of that gender (from Mr/Lord, Mrs/Baroness …),
  or to the person the sentence before names first when nobody spoke in it;
- another singular description ("The independent crossbencher") to the latest speaker.

The subject is the words before the verb ("Economist Carla Ibáñez of the
University of Santiago said": Carla Ibáñez), a name opening the sentence before
a relative clause or apposition ("Local librarian Tom Whitcombe, who has worked
…, said"), or a name after the verb ("…, says UK").

A sentence with no attribution that continues an open quotation, or opens a
paragraph with a quotation mark while the previous one was left open (the news
convention), or opens with a quotation mark right after an attributed quote in
the same paragraph ('“A,” Mr K said. “B.”'), keeps the quotation's speaker.
Narration gets no speaker.

Passages are one sentence, or up to three when sentences are short fragments,
never mixing speakers, so an answer can quote exactly the sentence that answers.

Left out: coreference beyond the rules above, plural speakers ("they"), nested
quotations, languages other than English.
"""

import re
from dataclasses import dataclass, field, replace

CHUNKER_VERSION = "5"

_MIN_PASSAGE_CHARS = 60
# How many of the latest speakers "he" or "she" may refer to.
_RECENT = 8
_MAX_PASSAGE_SENTENCES = 3


@dataclass(frozen=True)
class Passage:
    """A few sentences of one document. `doc.text[start:end] == text` always holds;
    `sentences` holds each sentence's (start, end) offsets in the document."""

    doc_id: str
    text: str
    start: int
    end: int
    score: float = 0.0
    speaker: str | None = None
    sentences: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict:
        """What the CLI's --json and the chat page's API show of a passage."""
        return {"doc_id": self.doc_id, "text": self.text, "start": self.start, "end": self.end,
                "score": round(self.score, 6), "speaker": self.speaker}


@dataclass
class Person:
    name: str
    role: str = ""
    gender: str = ""  # "m", "f" or "" when unknown

    @property
    def surname(self) -> str:
        words = [w for w in self.name.split() if w not in _NAME_PARTICLES]
        if " of " in f" {self.name} ":  # "Baroness Chapman of Darlington" -> "Chapman"
            words = self.name.split(" of ")[0].split()
        return words[-1] if words else self.name

    def aliases(self) -> list[str]:
        """Ways a question may refer to this person, longest first."""
        names = {self.name, self.surname}
        words = self.name.split()
        if words and words[0] in _TITLES and len(words) > 1:
            names.add(" ".join(words[1:]))
            names.add(f"{words[0]} {self.surname}")  # "Baroness Chapman" for "Baroness Chapman of Darlington"
        if self.role:
            names.add(self.role)
        return sorted((n for n in names if len(n) > 1), key=len, reverse=True)


@dataclass
class Chunked:
    passages: list[Passage]
    people: list[Person] = field(default_factory=list)


def chunk(doc_id: str, text: str) -> Chunked:
    """Split one document's text into passages with speakers."""
    sentences = split_sentences(text)
    speakers, people = _attribute(text, sentences)
    return Chunked(_group(doc_id, text, sentences, speakers), people)


def index_text(passage: Passage, role: str = "") -> str:
    """The text that is embedded and keyword-indexed for a passage: the speaker is
    put in front so that "What did Healey say …" finds a sentence that says only
    "There is an indivisible link …"."""
    if not passage.speaker:
        return passage.text
    who = f"{passage.speaker} ({role})" if role else passage.speaker
    return f"{who}: {passage.text}"


# --- sentences -------------------------------------------------------------


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph: blocks between blank lines if the text has
    any, else lines. Offsets exclude surrounding whitespace."""
    sep = r"\n[ \t]*\n" if re.search(r"\n[ \t]*\n", text) else r"\n"
    spans, pos = [], 0
    for m in [*re.finditer(sep, text), None]:
        end = m.start() if m else len(text)
        s, e = _strip_span(text, pos, end)
        if s < e:
            spans.append((s, e))
        if m:
            pos = m.end()
    return spans


def split_sentences(text: str) -> list[tuple[int, int, int]]:
    """(start, end, paragraph number) of every sentence, in order."""
    out = []
    import blingfire

    for para_no, (ps, pe) in enumerate(paragraphs(text)):
        # A newline inside a paragraph is a wrapped line, not a sentence end.
        block = text[ps:pe].replace("\n", " ")
        cursor = 0
        for piece in blingfire.text_to_sentences(block).split("\n"):
            piece = piece.strip()
            if not piece:
                continue
            at = block.find(piece, cursor)
            if at < 0:  # the splitter altered the text; fall back to the rest of the block
                at, piece = cursor, block[cursor:].strip()
            cursor = at + len(piece)
            out.append((ps + at, ps + cursor, para_no))
    return out


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# --- speakers --------------------------------------------------------------

_SPEECH_VERBS = set("""
said says told tells added adds warned warns suggested suggests explained explains
stated argued argues noted claimed insisted insists asked replied replies continued
agreed agrees acknowledged admitted admits announced announces declared stressed stresses
urged urges wrote writes commented remarked responded cautioned predicted concluded
confirmed denied recalled conceded observed emphasised emphasized reiterated vowed
pledged promised maintained maintains believes thinks called calls
""".split())
_NAMING_VERBS = {"called", "calls"}  # "called the closures a betrayal" is speech; "called Wianki" a name
_COURTESY = {"Mr": "m", "Mr.": "m", "Mrs": "f", "Mrs.": "f", "Ms": "f", "Ms.": "f",
             "Miss": "f", "Dr": "", "Dr.": "", "Prof": "", "Prof.": ""}
_TITLES = {"Lord": "m", "Sir": "m", "Baron": "m", "King": "m", "Prince": "m",
           "Lady": "f", "Dame": "f", "Baroness": "f", "Queen": "f", "Princess": "f"}
_ROLE_WORDS = set("""
secretary minister president chancellor chief general senator governor mayor commissioner
director spokesman spokeswoman spokesperson ambassador chairman chairwoman chair leader
professor officer commander admiral marshal premier envoy adviser advisor head
crossbencher lawmaker mp representative spokesman analyst expert official
economist researcher scientist lawyer attorney doctor author historian campaigner activist librarian
teacher councillor councilor editor correspondent executive founder manager engineer
""".split())
# Capitalised words that start a sentence, not a name ("His …", "Who …").
_NOT_NAMES = set("""
the it this that these those i we you he she they his her its their our my your who what when where why how
which there here in on at a an and but or if as after before while during
""".split())
_NAME_PARTICLES = {"of", "de", "da", "van", "von", "der", "la", "le", "bin", "al"}
_PRONOUNS = {"he": "m", "she": "f"}
_FUNCTION_WORDS = set("""
the a an of in on at to for with by from and or but as is was were be been that this
which who whose his her its their our your my said says
""".split())
_OPEN_QUOTES, _CLOSE_QUOTES = "“", "”"
_BOUNDARY = "\x00"  # stands in for quoted text and clause punctuation
_WORD = re.compile(r"[^\s\x00]+")


def _attribute(text: str, sentences) -> tuple[list[str | None], list[Person]]:
    people: list[Person] = []
    speakers: list[str | None] = []
    recent: list[Person] = []  # speakers, latest last
    quote_open, quote_speaker, waiting = False, None, []  # waiting: sentences of an open quote with no speaker yet
    prev_para = -1
    named_before: Person | None = None
    surnames: dict[str, Person] = {}
    known = 0  # people in `surnames`
    for i, (start, end, para) in enumerate(sentences):
        sent = text[start:end]
        if para != prev_para:
            # News convention: a quote left open continues only if the next
            # paragraph opens with a quotation mark again.
            if quote_open and not sent.startswith(("“", '"')):
                quote_open, quote_speaker, waiting = False, None, []
            prev_para = para
        started_inside = quote_open
        outside, quote_open = _mask_quotes(sent, quote_open)
        _register_mentions(sent, people)
        # "He" or "she" is one of the latest speakers, or the person the sentence before
        # names first when nobody spoke in it ("Minister Soto met Ibanez. He said …").
        context = recent[-_RECENT:] + ([named_before] if named_before else [])
        person = _find_speaker(outside, people, context)
        speaker = person.name if person else None
        if person:
            recent.append(person)
        elif started_inside or (sent.startswith(("“", '"')) and not quote_open and quote_speaker is None):
            speaker = quote_speaker
        before = text[sentences[i - 1][0]:sentences[i - 1][1]] if i else ""
        if (speaker is None and not started_inside and sent.startswith(("“", '"')) and i
                and sentences[i - 1][2] == para and speakers[i - 1] and ("“" in before or '"' in before)):
            speaker = speakers[i - 1]  # '“A,” Mr K said. “B.”' in one paragraph: B is his too
        if speaker is None and (started_inside or quote_open):
            waiting.append(i)
        speakers.append(speaker)
        if len(people) != known:  # rebuilt when someone new is met, not every sentence
            surnames, known = {p.surname: p for p in people}, len(people)
        named_before = None if person else next(
            (surnames[w] for w in re.findall(r"[A-Z][\w’'-]+", outside) if w in surnames), None)
        if speaker and (started_inside or quote_open or waiting):
            for j in waiting:  # '“A. B,” he said.': A is his too
                speakers[j] = speakers[j] or speaker
            waiting = [] if not quote_open else waiting
        if quote_open and speaker:
            quote_speaker = speaker
        elif not quote_open:
            quote_speaker, waiting = None, []
    return speakers, people


def _mask_quotes(sent: str, inside: bool) -> tuple[str, bool]:
    """Replace quoted characters by boundary marks; return the text left and
    whether a quotation is still open at the end of the sentence."""
    out = []
    for ch in sent:
        if ch == _OPEN_QUOTES or (ch == '"' and not inside):
            inside = True
            out.append(_BOUNDARY)
        elif ch == _CLOSE_QUOTES or (ch == '"' and inside):
            inside = False
            out.append(_BOUNDARY)
        elif inside or ch in ",;:()–—":
            out.append(_BOUNDARY)
        else:
            out.append(ch)
    return "".join(out), inside


def _find_speaker(outside: str, people: list[Person], recent: list[Person]) -> Person | None:
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(outside)]
    for n, (word, wstart, wend) in enumerate(words):
        if word.rstrip(".!?") not in _SPEECH_VERBS:
            continue
        # Subject before the verb, back to the last clause boundary.
        clause = outside[:wstart].rsplit(_BOUNDARY, 1)[-1].split()
        while clause and clause[-1] in {"also", "later", "then", "has", "had", "have", "was", "once", "again", "and"}:
            clause.pop()
        # "Economist Carla Ibáñez of the University of Santiago said": the institution is not the speaker.
        for k in range(1, len(clause) - 1):
            if clause[k] in {"of", "at", "from", "for"} and clause[k + 1] == "the" and clause[k - 1][:1].isupper():
                clause = clause[:k]
                break
        found = _resolve(clause, people, recent) if clause else None
        if found:
            return found
        if not clause and outside[:wstart].strip(_BOUNDARY + " ") == "" and n == 0:
            continue
        if not clause:
            parts = [part.split() for part in outside[:wstart].split(_BOUNDARY) if part.strip()]
            head = parts[0] if parts else []
            described = head and head[0].lower() == "the" and len(head) <= 6
            # "Local librarian Tom Whitcombe, who has worked …, said" / "Carla Ibáñez,
            # an economist at …, said": the name opens the sentence.
            if (len(parts) > 1 and not described and 1 < len(head) <= 6 and head[-1][:1].isupper()
                    and all(w[:1].isupper() or w.lower() in _ROLE_WORDS or w in _NAME_PARTICLES for w in head)):
                found = _resolve(head, people, recent)
                if found:
                    return found
            # "The mayor of Tromsø, Kari Nilsen, said": a name set off by commas.
            if parts and len(parts) > 1 and len(parts[-1]) <= 5 and all(w[:1].isupper() for w in parts[-1]):
                found = _resolve(parts[-1], people, recent)
                if found:
                    if described and not found.role and any(w.lower() in _ROLE_WORDS for w in head):
                        found.role = " ".join(head[1:])
                    return found
            # "The independent crossbencher, who served …, added:" — the subject
            # opens the sentence before a relative clause.
            if described:
                found = _resolve(head, people, recent)
                if found:
                    return found
        # Inverted: "…, says UK" / "“…,” said Mr Smith." (not "a festival called Wianki")
        after = outside[wend:].split(_BOUNDARY, 1)[0].split()
        run = _leading_capitalised(after) if word.rstrip(".!?") not in _NAMING_VERBS else []
        if run:
            found = _resolve(run, people, recent)
            if found:
                return found
    return None


def _leading_capitalised(words: list[str]) -> list[str]:
    run = []
    for w in words:
        w = w.rstrip(".!?")
        if w[:1].isupper() or (run and w in _NAME_PARTICLES):
            run.append(w)
        else:
            break
    while run and run[-1] in _NAME_PARTICLES:
        run.pop()
    return run


def _resolve(words: list[str], people: list[Person], recent: list[Person]) -> Person | None:
    """Turn a subject phrase into a person, registering new ones."""
    if len(words) == 1 and words[0].lower() in _PRONOUNS:
        gender = _PRONOUNS[words[0].lower()]
        for person in reversed(recent):
            if person.gender in (gender, ""):
                return person
        return None
    if len(words) > 8:
        words = words[-8:]
    role, name = _split_role_name(words)
    if name:
        return _person(name, role, people)
    if words[0].lower() == "the":
        described = " ".join(words[1:]).lower()
        for person in reversed(people):
            if person.role and _role_matches(described, person.role):
                return person
        if words[-1].endswith("s") and not words[-1].endswith("ss"):
            return _person(words, "", people, plural=True)
        return recent[-1] if recent else None
    return None


def _split_role_name(words: list[str]) -> tuple[str, list[str]]:
    """["German", "defence", "minister", "Boris", "Pistorius"] -> ("German defence minister", ["Boris", "Pistorius"])."""
    words = [w.rstrip(".!?,") if w not in _COURTESY else w for w in words]
    # The name is the trailing run of capitalised words (and particles).
    i = len(words)
    while i > 0 and (words[i - 1][:1].isupper() or (words[i - 1] in _NAME_PARTICLES and i < len(words))):
        i -= 1
    run = words[i:]
    while run and run[0] in _NAME_PARTICLES:
        run, i = run[1:], i + 1
    # A capitalised role ("Defence Secretary John Healey") is not part of the name.
    last_role = max((k for k, w in enumerate(run) if w.lower() in _ROLE_WORDS), default=-1)
    role_words = words[:i] + run[: last_role + 1]
    name = run[last_role + 1:]
    if not name or name[0].lower() in _NOT_NAMES:
        return " ".join(role_words), []
    # A lower-case phrase before a name is a role only if it ends in a role word.
    if role_words and role_words[-1].lower() not in _ROLE_WORDS:
        role_words = []
    # Keep only the noun phrase: "sign of President" -> "President".
    cut = max((k for k, w in enumerate(role_words) if w.lower() in _FUNCTION_WORDS), default=-1)
    return " ".join(role_words[cut + 1:][-4:]), name


def _role_matches(described: str, role: str) -> bool:
    d, r = set(described.split()), set(role.lower().split())
    head = role.lower().split()[-1]
    return head in d and len(d & r) >= min(2, len(r))


def _person(name_words: list[str], role: str, people: list[Person], plural: bool = False) -> Person:
    gender = ""
    if not plural:
        if name_words[0] in _COURTESY:
            gender = _COURTESY[name_words[0]]
            name_words = name_words[1:] or name_words
        elif name_words[0] in _TITLES:
            gender = _TITLES[name_words[0]]
    name = " ".join(name_words)
    if plural and name.lower().startswith("the "):
        name = name[4:]
    for person in people:
        if person.name == name or (not plural and len(name_words) == 1 and person.surname == name):
            if role and not person.role:
                person.role = role
            if gender and not person.gender:
                person.gender = gender
            return person
        if not plural and len(name_words) > 1 and name_words[-1] == person.name:
            # "Healey" was seen before "John Healey": keep the fuller name.
            person.name = name
            person.role = person.role or role
            person.gender = person.gender or gender
            return person
    person = Person(name=name, role=role, gender=gender)
    people.append(person)
    return person


_MENTION = re.compile(
    r"\b((?:[A-Za-z]+(?:['’]s)? ){0,3}?(?:" + "|".join(sorted(_ROLE_WORDS)) + r"|"
    + "|".join(w.capitalize() for w in sorted(_ROLE_WORDS)) + r")) "
    r"((?:(?:Mr|Mrs|Ms|Dr|" + "|".join(_TITLES) + r") )?[A-Z][\w’'-]+(?: (?:of |de |von |van )?[A-Z][\w’'-]+){0,3})"
)


def _register_mentions(sent: str, people: list[Person]) -> None:
    """Learn roles from mentions such as "President Vladimir Putin" even when
    the person does not speak, so that "the President said" resolves later."""
    for m in _MENTION.finditer(sent):
        role_words = m.group(1).split()
        role, name = _split_role_name(role_words + m.group(2).split())
        if name and role:
            _person([w.rstrip("’'s") if w.endswith(("’s", "'s")) else w for w in name], role, people)


# --- passages --------------------------------------------------------------


def _group(doc_id: str, text: str, sentences, speakers) -> list[Passage]:
    passages: list[Passage] = []
    current: list[int] = []

    def flush():
        if current:
            s, e = sentences[current[0]][0], sentences[current[-1]][1]
            spans = tuple((sentences[j][0], sentences[j][1]) for j in current)
            passages.append(Passage(doc_id, text[s:e], s, e, speaker=speakers[current[0]], sentences=spans))
            current.clear()

    for i, (start, end, para) in enumerate(sentences):
        if current:
            first = current[0]
            short = sentences[current[-1]][1] - sentences[first][0] < _MIN_PASSAGE_CHARS
            same = sentences[first][2] == para and speakers[first] == speakers[i]
            if not (short and same and len(current) < _MAX_PASSAGE_SENTENCES):
                flush()
        current.append(i)
    flush()
    return passages


def with_score(passage: Passage, score: float) -> Passage:
    return replace(passage, score=score)
