"""Speakers: who says each sentence of a news text.

`attribute(text, sentences)` takes a document and its sentences ((start, end,
paragraph) from `chunking.split_sentences`) and returns one speaker name, or
None, per sentence, and the people it met (name, role, gender).

A sentence is attributed by a cue outside its quotation marks:
- a speech verb and its subject: "Mr Healey said", "the senator told CNN",
  "The New York Post reports", and inverted after a quotation: "“…,” said Jeb
  Bush, the former governor." (a name after "told" or "asked" is the listener);
  a participle takes the sentence's subject ("Trump tweeted, saying …");
- "according to Name";
- a transcript tag opening a paragraph ("PENCE: …") or a name before a colon
  and a quotation ("Clinton: “…”"), a dash credit after a quotation
  ("“…” — Bernie Sanders"), and a paragraph that is only a credit ("- Clinton.")
  after a paragraph of quotation.

The subject is resolved to a person: a surname to the full name met earlier
("Trump" → "Donald Trump"), a role to the person introduced with it ("the
Defence Secretary" → "John Healey"), "he"/"she" to the person the sentence
before is about when nobody spoke in it, else to the latest speaker of that
gender (known from Mr/Mrs, Lord/Baroness, a first name that tells, or an
earlier he/she), else to the latest person named whose first name tells it
("Betsy", "Tom": rag/data/first_names.txt, built by bench/names.py).
Organisations are sources as people are ("CNN reported").

A quotation with no cue of its own keeps the speaker of the quotation it
belongs to: one running over sentences or paragraphs (the news convention: a
quote left open continues only if the next paragraph opens with a quotation
mark), one whose cue comes after it ('“A. B,” he said.', or a short "Trump
said." sentence right after), one after an attributed quote in the same
paragraph, and one in the paragraph after a speaker's introducing colon.
Narration gets no speaker.

Left out: full coreference (only the rules above), plural speakers ("they"),
nested quotations, languages other than English. Measured on PolNeAR's named
direct quotations by `bench/polnear.py` (BENCHMARKS.md).
"""

import functools
import re
from dataclasses import dataclass
from pathlib import Path

# How many of the latest speakers "he" or "she" may refer to.
_RECENT = 8

SPEECH_VERBS = set("""
said says told tells added adds warned warns suggested suggests explained explains stated states
argued argues noted notes claimed claims insisted insists asked asks replied replies continued
agreed agrees acknowledged acknowledges admitted admits announced announces declared declares
stressed stresses urged urges wrote writes commented comments remarked responded responds
cautioned predicted predicts concluded confirmed confirms denied denies recalled recalls conceded
observed observes emphasised emphasized reiterated vowed vows pledged promised maintained maintains
believes thinks called calls reported reports tweeted tweets posted quipped joked boasted complained
complains lamented countered counters charged contended contends testified recounted proclaimed
shouted yelled exclaimed bragged mused wondered explained predicted retorted pointed
concludes cautions recalls remarks observes reiterates emphasizes emphasises pledges promises quips jokes
boasts laments testifies recounts proclaims shouts yells exclaims brags muses wonders retorts
demanded demands asserted asserts echoed echoes exhorted interjected opined opines scoffed answered answers
remembered remembers
""".split())
_PARTICIPLES = set("""
saying adding telling writing noting arguing explaining warning insisting declaring tweeting stressing
claiming urging calling asking
""".split())
# Verbs whose object is not a speaker: "told AFP", "asked Trump", "called Wianki".
# Cues of two words: "as the prosecutor put it, “…”", "“…” Trump went on".
_PHRASAL_CUES = {("put", "it"), ("puts", "it"), ("went", "on"), ("goes", "on"), ("points", "out"), ("pointed", "out")}
_OBJECT_VERBS = {"told", "tells", "asked", "asks", "called", "calls", "urged", "urges", "warned", "warns"}
_FILLERS = set("""
also later then has had have was is once again and but previously recently repeatedly reportedly earlier
publicly privately simply just never often flatly would will could may might further last first
""".split())
_COURTESY = {"Mr": "m", "Mr.": "m", "Mrs": "f", "Mrs.": "f", "Ms": "f", "Ms.": "f",
             "Miss": "f", "Dr": "", "Dr.": "", "Prof": "", "Prof.": ""}
_TITLES = {"Lord": "m", "Sir": "m", "Baron": "m", "King": "m", "Prince": "m",
           "Lady": "f", "Dame": "f", "Baroness": "f", "Queen": "f", "Princess": "f"}
ROLE_WORDS = set("""
secretary minister president chancellor chief general senator governor mayor commissioner
director spokesman spokeswoman spokesperson ambassador chairman chairwoman chair leader
professor officer commander admiral marshal premier envoy adviser advisor head
crossbencher lawmaker mp representative analyst expert official candidate nominee
congressman congresswoman strategist pollster aide consultant judge justice speaker
economist researcher scientist lawyer attorney doctor author historian campaigner activist librarian
teacher councillor councilor editor correspondent executive founder manager engineer ceo
sen. rep. gov. lt. gen. col. sgt. atty. sec. pres. supt.
""".split())
# Capitalised words that open a sentence or follow a verb, not names ("His …", "said Friday").
_DATES = set("""
monday tuesday wednesday thursday friday saturday sunday today tonight yesterday tomorrow
january february march april may june july august september october november december
""".split())
_NOT_NAMES = _DATES | set("""
the it this that these those i we you he she they his her its their our my your who what when where why how
which there here in on at a an and but or if as after before while during so yet still
then now later meanwhile however also both instead earlier asked speaking
recently finally similarly additionally furthermore moreover ultimately eventually initially currently
previously subsequently consequently separately notably importantly specifically interestingly
unfortunately fortunately apparently clearly certainly indeed otherwise likewise nevertheless nonetheless
much many most some all none each every few several another
for with from to by although though because since until unless despite like unlike without
""".split())
# Words that end a speaker's name after an inverted verb ("said Trump on Monday").
_AFTER_NAME = set("on in at during after before while when who which as to for from with about last this that told".split())
_NAME_PARTICLES = {"of", "de", "da", "van", "von", "der", "la", "le", "bin", "al"}
_PRONOUNS = {"he": "m", "she": "f"}
_AUXILIARIES = set("""
is was are were has had have will would can could may might must should did does do isn’t wasn’t hasn’t hadn’t
won’t wouldn’t can’t couldn’t didn’t doesn’t don’t isn't wasn't hasn't hadn't won't wouldn't can't couldn't
didn't doesn't don't also then later once again still himself herself itself
""".split())
_IRREGULAR_PAST = set("""
took made went gave broke spoke wrote put hit set came told said got sent held kept left brought thought
felt found stood sat ran began drew threw knew saw tore struck stuck fought sought taught swore shot led
""".split())
# Prepositions that attach a place of work to a speaker ("director for the Iowa Democratic Party").
_EMPLOYER = {"of", "at", "from", "for"}
_CONJUNCTIONS = {"and", "but", "so", "yet"}
_SUBORDINATE = {"when", "after", "while", "because", "although", "though", "if", "since", "before", "until", "once"}
_DETERMINERS = {"the", "a", "an", "his", "her", "their", "its", "our", "my", "your", "these", "those", "this", "that"}
# What follows a present tense rather than a plural noun ("describes the party", "describes himself as").
_AFTER_PRESENT = _DETERMINERS | {"him", "them", "it", "that", "as", "to", "himself", "herself", "itself", "themselves"}
_FUNCTION_WORDS = set("""
the a an of in on at to for with by from and or but as is was were be been that this
which who whose his her its their our your my said says
""".split())
_NOT_OPENING_NAMES = _NOT_NAMES | _FUNCTION_WORDS  # "Of Carson, Levine … said"
_OPEN_QUOTES, _CLOSE_QUOTES = "“", "”"
_BOUNDARY = "\x00"  # stands in for quoted text and clause punctuation
# A name right before a colon that opens a quotation (colon and quote are boundaries here).
_COLON_CREDIT = re.compile(r"([A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3})\x00\s*\x00")
_PARTY = re.compile(r"[RDI]-[A-Z][\w.]*|[A-Z][\w.]*-[A-Z][\w.]*")  # "R-Ky.", "D-Newport News" set off by commas
_WORD = re.compile(r"[^\s\x00]+")
_TRANSCRIPT = re.compile(r"[“\"]?([A-Z][A-Z.'’-]+(?: [A-Z][A-Z.'’-]+){0,3}):\s")
_CREDIT_LINE = re.compile(r"[-—–―]\s*([A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3})(?:,[^.]*)?\.?")
_DASH_CREDIT = re.compile(r"[”\"][^“”\"]*?[—–―]\s*([A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3})[\s.]*$")


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


class _Cast:
    """The people of one document, and who the text is about at each point."""

    def __init__(self):
        self.people: list[Person] = []
        self.recent: list[Person] = []  # speakers, latest last
        self.named_before: Person | None = None  # whom the sentence before was about, when nobody spoke in it
        self.mentions: dict[str, list[str]] = {}  # surname -> the shortest full name seen ("Trump" -> Donald Trump)
        self.tags: list[str] = []  # transcript tags opening paragraphs ("PENCE")
        self.mentioned: list[list[str]] = []  # full names in the order the text names them
        # Words ending in -s the text capitalises mid-sentence and never writes in lower case:
        # a name ("Sanders credited …"), not a plural noun opening a sentence ("Officials said").
        self.proper: set[str] = set()

    def read(self, text: str) -> None:
        lower = set(re.findall(r"\b[a-z][a-z'’-]*s\b", text))
        mid = set(re.findall(r"(?:(?<=[a-z,;] )|(?<=[,?!][”\"] ))([A-Z][a-z'’-]+s)\b", text))  # "…,” Kiedis said"
        self.proper = {w for w in mid if w.lower() not in lower and w.lower()[:-1] not in lower}

    def gender(self, person: Person) -> str:
        words = person.name.split()
        return person.gender or (_first_names().get(words[0].lower(), "") if len(words) > 1 else "")

    def learn(self, sent: str, outside: str) -> None:
        """Remember full names ("Hillary Clinton") and roles ("President Vladimir Putin")
        mentioned anywhere, so that later "Clinton said" or "the President said" resolve;
        and those named outside quotation marks, whom a later "she" may be."""
        for words in _full_names(sent):
            # "Bernie Sanders of Vermont" names "Bernie Sanders" (and "Baroness Chapman of Darlington").
            for name in [words[:words.index("of")], words] if "of" in words else [words]:
                # The shortest full name wins: "Donald Trump" over "Republican Donald Trump".
                if len(name) > 1 and len(name) < len(self.mentions.get(name[-1], "long enough to lose")):
                    self.mentions[name[-1]] = name
        for words in _full_names(outside.replace(_BOUNDARY, " ")):
            name = words[:words.index("of")] if "of" in words else words
            if len(name) > 1:
                self.mentioned.append(name)
        for m in _MENTION.finditer(sent):
            role, name = _split_role_name(m.group(1).split() + m.group(2).split())
            if name and role:
                self.person([_strip_possessive(w) for w in name], role)

    def person(self, name_words: list[str], role: str = "", plural: bool = False) -> Person:
        gender = ""
        if "of" in name_words[1:] and name_words[0] not in _TITLES and not plural:
            name_words = name_words[:name_words.index("of")]  # "Tom Cole of Oklahoma"; not "Baroness Chapman of …"
        if not plural:
            if name_words[0] in _COURTESY:
                gender = _COURTESY[name_words[0]]
                name_words = name_words[1:] or name_words
            elif name_words[0] in _TITLES:
                gender = _TITLES[name_words[0]]
        if len(name_words) == 1 and not plural and not any(p.surname == name_words[0] for p in self.people):
            name_words = self.mentions.get(name_words[0], name_words)  # "Trump" after "Donald Trump"
        name = " ".join(name_words)
        for person in self.people:
            if person.name == name or (not plural and len(name_words) == 1 and person.surname == name):
                person.role = person.role or role
                person.gender = person.gender or gender
                return person
            if not plural and len(name_words) > 1 and name_words[-1] == person.name:
                person.name = name  # "Healey" was seen before "John Healey": keep the fuller name
                person.role = person.role or role
                person.gender = person.gender or gender
                return person
        person = Person(name=name, role=role, gender=gender)
        self.people.append(person)
        return person

    def known(self, surname: str) -> bool:
        return (surname in self.mentions or any(p.surname == surname for p in self.people)
                or surname in self.proper)

    def pronoun(self, gender: str) -> Person | None:
        context = self.recent[-_RECENT:] + ([self.named_before] if self.named_before else [])
        for person in reversed(context):
            if person.name.split()[-1].islower():
                continue  # "the defence ministers" are no he or she
            if self.gender(person) in (gender, ""):
                if person not in self.people:  # named, not yet met as a speaker or with a role
                    person = self.person(person.name.split())
                person.gender = gender  # "he" once, "he" after
                return person
        # Nobody who spoke or was just the subject fits: the latest person named whose first name tells the gender.
        for words in reversed(self.mentioned[-_RECENT:]):
            if self.gender(Person(" ".join(words))) == gender:
                return self.person(words)
        return None

    def resolve(self, words: list[str]) -> Person | None:
        """Turn a subject phrase into a person, registering new ones."""
        if not words:
            return None
        if len(words) == 1 and words[0].lower() in _PRONOUNS:
            return self.pronoun(_PRONOUNS[words[0].lower()])
        words = words[-8:]
        role, name = _split_role_name(words)
        if len(name) == 1 and name[0].endswith("s") and not self.known(name[0]):
            return None  # "Readers responded", "Officials said": a plural, not a name
        if name:
            return self.person(name, role)
        if words[0].lower() == "the" and words[-1].lower().rstrip(".") in ROLE_WORDS:
            described = " ".join(words[1:]).lower()
            for person in reversed(self.people):
                if person.role and _role_matches(described, person.role):
                    return person
            return self.recent[-1] if self.recent else None
        if words[0].lower() == "the" and words[-1].lower().rstrip("s") in ROLE_WORDS and words[-1].endswith("s"):
            return self.person(words[1:], plural=True)  # "the UK and German defence ministers have said"
        return None


def _full_names(text: str):
    """Runs of capitalised words, descriptions dropped: "Republican Donald Trump" -> Donald Trump."""
    for m in re.finditer(r"[A-Z][\w’'-]+(?: (?:of |de |van |von )?[A-Z][\w’'-]+){1,3}", text):
        words = _strip_possessive(m.group()).split()
        owner = max((k for k, w in enumerate(words[:-1]) if w.endswith(("’s", "'s"))), default=-1)
        words = words[owner + 1:]  # "ABC’s George Stephanopoulos" -> George Stephanopoulos
        while words and (words[0].lower() in _NOT_NAMES or words[0] in _COURTESY or words[0] in _NAME_PARTICLES
                         or words[0].lower() in ROLE_WORDS or f"{words[0].lower()}." in ROLE_WORDS):
            words = words[1:]
        yield words


@functools.cache
def _first_names() -> dict[str, str]:
    """First name -> "m" or "f", for names that tell (rag/data/first_names.txt, built by bench/names.py)."""
    lines = (Path(__file__).parent / "data" / "first_names.txt").read_text(encoding="utf-8").splitlines()
    return dict(line.split() for line in lines if line and not line.startswith("#"))


def attribute(text: str, sentences) -> tuple[list[str | None], list[Person]]:
    """One speaker name (or None) per sentence, and the people met."""
    cast = _Cast()
    cast.read(text)
    cast.tags = [m.group(1) for m in (_TRANSCRIPT.match(text, start) for start, _, _ in _firsts(sentences)) if m]
    speakers: list[str | None] = []
    quote_open, quote_speaker = False, None  # a quotation still open, and its speaker once known
    waiting: list[int] = []  # sentences of the open quotation with no cue of their own
    unclaimed: list[int] = []  # a quotation that closed with no cue: a cue opening the next sentence claims it
    prev_para, introduced = -1, None  # introduced: the speaker of a paragraph ending in a colon
    for i, (start, end, para) in enumerate(sentences):
        sent = text[start:end]
        opens_with_quote = sent.startswith(("“", '"'))
        new_para = para != prev_para
        if new_para:
            unclaimed = []
            if quote_open and not opens_with_quote:  # the convention: an open quote goes on only with a mark
                quote_open, quote_speaker, waiting = False, None, []
            prev_para = para
        started_inside = quote_open
        # A paragraph that carries on an open quotation re-opens it with its first mark.
        # A sentence set in parentheses is read as if it were not: "(On the other hand, he added …)".
        outside, quote_open = _mask_quotes(sent.removeprefix("("), quote_open and not (new_para and opens_with_quote))
        parts = _parts(outside)
        cast.learn(sent, outside)
        # The person a sentence opens with is whom its own he or she most likely means:
        # 'Sen. Claire McCaskill (D-Mo.) scolded him: “…,” she said.'
        own = _opening_subject(parts, cast, register=False)
        if own and (" " in own.name or cast.known(own.name)):  # not "Rather, he said"
            cast.named_before = own
        person = (_tagged(sent, cast) if new_para else None) or _find_speaker(outside, parts, cast) or _credited(sent, cast)
        credit = _CREDIT_LINE.fullmatch(sent) if new_para and not person and i else None
        if credit and (i + 1 == len(sentences) or sentences[i + 1][2] != para):
            # A paragraph that is only '- Clinton.' credits the quotation paragraph before it.
            before = [j for j in range(i) if sentences[j][2] == sentences[i - 1][2]]
            if all(speakers[j] is None for j in before) and text[sentences[before[0]][0]] in "“\"":
                found = cast.resolve(credit.group(1).split())
                for j in before if found else []:
                    speakers[j] = found.name
        if person is None and _quotes(sent):
            # A quotation with no speech verb is the words of the sentence's subject:
            # "Reid has gone after Trump as a “human leech”", "“…?” Vitter demanded."
            person = _opening_subject(parts, cast) or _inverted(outside, cast) or _head(parts, cast)
        elif person is None and unclaimed and len(outside.split()) <= 4:
            person = _opening_subject(parts, cast)  # '“Would it be negotiable?” Hannity pressed.'
        speaker = person.name if person else None
        if person:
            cast.recent.append(person)
            # The cue opens the sentence, or its speaker does: 'Miller, a retired worker, said pleasantly.'
            if unclaimed and (_opens_with_cue(outside) or parts[0][0] in person.name.split()):
                for j in unclaimed:  # '“We will win. Believe me.” Trump said on Monday.'
                    speakers[j] = speaker
            if not started_inside and opens_with_quote:
                waiting = [i]  # its quotation starts here, not with an earlier open one
        elif started_inside:
            speaker = quote_speaker
        elif i and speakers[i - 1] and parts and parts[0][0].lower() in _PARTICIPLES:
            speaker = speakers[i - 1]  # 'Maher stated that the report “wasn’t good.” Adding, “Now, …”'
        elif opens_with_quote and i:
            if new_para and introduced:
                speaker = introduced  # 'Trump said in a statement:' then the quotation
            elif sentences[i - 1][2] == para and speakers[i - 1]:
                speaker = speakers[i - 1]  # '“A,” Mr K said. “B.”' in one paragraph: B is his too
        unclaimed = []
        if person is None and (started_inside or quote_open):
            waiting.append(i)
        speakers.append(speaker)
        # A sentence all quotation leaves whom the text is about as it was.
        cast.named_before = None if person else _subject(parts, cast) if parts else cast.named_before
        if person:
            # '“A. B,” he said.': A is his too, even if A took the speaker of an
            # earlier quotation in its paragraph ('“X,” Ms L said. “A. B,” Mr K said.').
            for j in waiting:
                speakers[j] = speaker
            waiting = []
        if quote_open:
            quote_speaker = speaker or quote_speaker
        else:
            if person is None and (waiting or opens_with_quote):
                unclaimed = waiting + ([i] if i not in waiting else [])
            quote_speaker, waiting = None, []
        last_in_para = i + 1 == len(sentences) or sentences[i + 1][2] != para
        if last_in_para:  # "Trump said in a statement:" / "Sanders made the following comment:"
            # Only then is the opening subject looked for: looking registers the people it finds.
            introduced = (speaker or getattr(_opening_subject(parts, cast), "name", None)
                          if sent.rstrip().endswith(":") else None)
    for person in cast.people:
        person.gender = cast.gender(person)
    return speakers, cast.people


def _parts(outside: str) -> list[list[str]]:
    """The words of each clause left outside quotation marks."""
    return [part.split() for part in outside.split(_BOUNDARY) if part.strip()]


def _opens_with_cue(outside: str) -> bool:
    """Whether a sentence opens with its attribution: "Trump said …", "said Mr Kerry"."""
    words = outside.replace(_BOUNDARY, " ").split()[:6]
    k = next((k for k, w in enumerate(words) if w.rstrip(".,!?") in SPEECH_VERBS
              or (w, words[k + 1].rstrip(".,!?") if k + 1 < len(words) else "") in _PHRASAL_CUES), None)
    return k is not None and all(w[:1].isupper() or w.lower() in _PRONOUNS for w in words[:k])


def _firsts(sentences):
    """The first sentence of every paragraph."""
    return [s for i, s in enumerate(sentences) if i == 0 or sentences[i - 1][2] != s[2]]


def _mask_quotes(sent: str, inside: bool) -> tuple[str, bool]:
    """Replace quoted characters by boundary marks and parenthesised ones by spaces
    ("Sen. Mike Lee (R-Utah) said"); return the text left and whether a quotation
    is still open at the end of the sentence."""
    out, depth = [], 0
    for ch in sent:
        if ch == _OPEN_QUOTES and inside and out and sent[len(out) - 1] in ",.?!":
            inside = False  # '…for her here,“ said Jim Clyburn': a slip for ”
            out.append(_BOUNDARY)
        elif ch == _OPEN_QUOTES or (ch == '"' and not inside):
            inside = True
            out.append(_BOUNDARY)
        elif ch == _CLOSE_QUOTES or (ch == '"' and inside):
            inside = False
            out.append(_BOUNDARY)
        elif inside or ch in ",;:–—―":
            out.append(_BOUNDARY)
        elif ch == "(" or (ch == ")" and depth):
            depth += 1 if ch == "(" else -1
            out.append(" ")
        else:
            out.append(" " if depth else ch)
    return "".join(out), inside


def _find_speaker(outside: str, parts: list[list[str]], cast: _Cast) -> Person | None:
    """The person a cue in `outside` (and its clauses, `parts`) names, or None."""
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(outside)]
    fallback = None  # a speaker in a subordinate clause, if the main clause has none
    colon = _COLON_CREDIT.search(outside)
    if colon and outside[:colon.start()].rstrip(" ")[-1:] in ("", _BOUNDARY, "-", "—") and _is_name_phrase(colon.group(1).split()) and (len(colon.group(1).split()) > 1 or cast.known(colon.group(1))):
        return cast.resolve(colon.group(1).split())  # "Pollsters agree - Carl Bialik: “One of …"
    for word, wstart, wend in words:
        # A name right after a quotation and its verb is the quotation's speaker, whatever
        # other cue the sentence has: '— but Moscow denies — “why not?” asked Dunn'.
        if word.rstrip(".!?,") in SPEECH_VERBS and outside[:wstart].rstrip(" ").endswith(_BOUNDARY * 2):
            run = _named_after(outside[wend:])
            if run and all(w[:1].isupper() for w in run) and (len(run) > 1 or cast.known(run[0])):
                found = cast.resolve(run)
                if found:
                    return found
    for n, (word, wstart, wend) in enumerate(words):
        verb = word.rstrip(".!?")
        if n == 0 and verb == "According":
            verb = "according"
        if n == 0 and verb[:1].isupper() and verb.lower() in SPEECH_VERBS:
            verb = verb.lower()  # "Said Ellis: “…”", "Stated Stone:"
        if verb == "according" and n + 1 < len(words) and words[n + 1][0] == "to":
            found = cast.resolve(_named_after(outside[words[n + 1][2]:]))  # "according to state attorney Dave Aronberg"
            if found:
                return found
            continue
        if verb in _PARTICIPLES:
            before = outside[:wstart].rsplit(_BOUNDARY, 1)[-1].split()
            run = _trailing_name(before)
            if run:
                found = cast.resolve(run)  # "footage of Hillary Clinton asking, “…”"
            elif not before or before[-1] in ("by", "in", "after", "while", "before"):
                found = _opening_subject(parts, cast) or _head(parts, cast)  # "Trump tweeted Monday, saying …"
            else:
                found = None
            if found:
                return found
            continue
        after = words[n + 1][0].rstrip(".,!?") if n + 1 < len(words) else ""
        if verb not in SPEECH_VERBS and (verb, after) not in _PHRASAL_CUES:
            continue
        # The word before, if nothing stands between: 'This is a “raw time,” said Axelrod' has no noun.
        previous = words[n - 1][0] if n and _BOUNDARY not in outside[words[n - 1][2]:wstart] else ""
        if previous.lower() in _DETERMINERS or previous.endswith(("s’", "s'", "’s", "'s")):
            continue  # a noun: "Sanders’ comments", "the reports"
        # Subject before the verb, back to the last clause boundary.
        clause = outside[:wstart].rsplit(_BOUNDARY, 1)[-1].split()
        # Not a present tense, which may be a noun: "impassioned speeches and promises".
        clause = (not verb.endswith("s") and _coordinated(clause, _parts(outside[:wstart])[-2:-1])) or clause
        while len(clause) > 1 and clause[-1].endswith("ly") and clause[-1].islower():
            clause.pop()  # "as she angrily said"
        if "as" in clause[:-1] and clause[-1].lower() in _PRONOUNS:
            clause = clause[-1:]  # "jabbing her finger at an activist as she angrily said"
        while clause and (clause[-1].lower() in _FILLERS or clause[-1].lower() in _DATES):
            clause.pop()
            if len(clause) > 1 and clause[-1] in ("on", "last", "this") and clause[-2][:1].isupper():
                clause.pop()  # "who Beck on Wednesday called"
        while len(clause) > 1 and clause[0].lower() in _FILLERS | _CONJUNCTIONS:
            clause.pop(0)  # "And then he promised …"
        # "Economist Carla Ibáñez of the University of Santiago said": the institution is not the speaker.
        for k in range(1, len(clause) - 1):
            if (clause[k] in _EMPLOYER and clause[k + 1] == "the" and clause[k - 1][:1].isupper()
                    and clause[k - 1].lower() not in ROLE_WORDS):  # "Speaker of the House Paul Ryan" goes on
                clause = clause[:k]
                break
        if clause and clause[0].islower() and clause[0] not in _SUBORDINATE and set(clause) & _EMPLOYER:
            # "Sam Lau, the communications director for the Iowa Democratic Party said":
            # the clause describes the subject set off before it; the name in it is a place of work.
            found = _apposed(outside[:wstart], cast)
            if found:
                return found
        before = _parts(outside[:wstart])
        if clause and clause[0].lower() in ("a", "an", "who") and len(before) > 1 and _is_name_phrase(before[-2]):
            # '…,” Simon Rosenberg, a Clinton supporter, said', 'Levine, who has given money to Rubio, said'
            found = cast.resolve(before[-2])
            if found:
                return found
        if clause:
            found = cast.resolve(clause)
            if found and clause[0].lower() in _SUBORDINATE:
                fallback = fallback or found  # "When Clinton noted that …, Trump boasted, “…”"
                continue
            if found:
                return found
            # "Ramos, 58, told AFP" / "Trump, who …, said": the sentence opens with the subject.
            if len(parts) > 1 and (clause[-1].lower() in {"who", "which"} or clause[-1].isdigit()):
                found = _head(parts, cast)
                if found:
                    return found
        # '…,” said Black, who has been friends with Manafort', 'The paradox of Nancy, says
        # Carl Anthony, historian at …', '“…” if she loses, said David Wasserman, an analyst':
        # a name that is all of the verb's clause is its subject.
        run = _named_after(outside[wend:]) if verb not in _OBJECT_VERBS else []
        rest = outside[wend:].split(_BOUNDARY, 1)[0]
        quoted = outside[wend + len(rest):].startswith(_BOUNDARY * 2)  # 'said Obama “understood …”': Obama is reported
        rest = rest.split()
        if run and run[0][:1].isupper() and not quoted and (len(rest) == len(run) or rest[len(run)].lower() in _AFTER_NAME):
            found = cast.resolve(run)
            if found:
                return found
        if clause:
            continue
        found = _apposed(outside[:wstart], cast) if outside[:wstart].strip(_BOUNDARY + " ") else None
        if found:
            return found
        # "Sanders was asked by host Bill Maher, “…”"; not "Asked by Maher to respond, Carson said".
        if n and outside[wend:].split()[:1] == ["by"]:
            found = cast.resolve(_named_after(outside[wend:].split("by", 1)[1]))
            if found:
                return found
        # Inverted: "“…,” said Jeb Bush, the former governor." / "…, said the senator.";
        # "asked" too, right after a quotation: "“Why not?” asked Dunn".
        after_quote = bool(outside[:wstart].strip(" ")) and not outside[:wstart].strip(" " + _BOUNDARY)
        if verb not in _OBJECT_VERBS or after_quote:
            run = _named_after(outside[wend:])  # "said Republican party boss Reince Priebus, …", "said Trump on Monday"
            # "said former Utah governor Michael Leavitt": a description may open the name.
            found = cast.resolve(run) if run and (run[0][:1].isupper() or run[0].lower() == "the" or any(
                w[:1].isupper() for w in run[1:])) else None
            if found:
                return found
            # '…,” exhorted Clinton's introducer, actress Jamie Lee Curtis.': the name set off after a description.
            following = _parts(outside[wend:])
            if run and len(following) > 1 and not found and _is_name_phrase(following[1]):
                found = cast.resolve(following[1])
                if found:
                    return found
    if fallback:
        # "When Trump suggested …, Rubio fired back: “…”": the main clause's subject, if it has one.
        return _opening_subject([p for p in parts if p[0].lower() not in _SUBORDINATE], cast) or fallback
    return fallback


def _coordinated(clause: list[str], before: list[list[str]] = ()) -> list[str] | None:
    """The subject of a verb joined to an earlier one by "and": "When Trump referred to
    … in Orlando and said" -> ["When", "Trump"], and "he looked into the camera,
    furrowed his brow and said" -> ["he"] (`before`: the clause before); None if
    the clause is not so."""
    while clause and clause[-1].lower() in _FILLERS - {"and"}:
        clause = clause[:-1]
    if len(clause) < 3 or clause[-1] != "and":
        return None
    if clause[0].islower() and _verb_like(clause[0]) and before:
        return _subject_words(before[0])
    found = _subject_words(clause[:-1])
    return found if found and len(found) < len(clause) - 1 else None


def _subject_words(clause: list[str]) -> list[str] | None:
    """The name or he/she a clause opens with as the subject of a verb, its opener kept:
    "When Trump later referred" -> ["When", "Trump"], "he looked" -> ["he"]."""
    opener = clause[:1] if clause and clause[0].lower() in _SUBORDINATE | _CONJUNCTIONS else []
    rest = clause[len(opener):]
    name = rest[:1] if rest[:1] and rest[0].lower() in _PRONOUNS else _leading_name(rest)
    rest = [w for w in rest[len(name):] if w.lower() not in _FILLERS]
    return opener + name if name and rest and _verb_like(rest[0], rest[1] if len(rest) > 1 else "") else None


def _apposed(before: str, cast: _Cast) -> Person | None:
    """The subject of a verb right after a comma: the name set off just before it
    ("The mayor of Tromsø, Kari Nilsen, said", "Gov. John Kasich (R-OH), said"),
    else the one the sentence opens with."""
    # Only what follows the last quotation: 'Sanders “is …,” Simon Rosenberg, a Clinton supporter, said.'
    before = re.split(_BOUNDARY + "{2,}", before)[-1]
    parts = [p for p in _parts(before) if not _PARTY.fullmatch(" ".join(p))]  # "McConnell, R-Ky., said"
    if parts and _is_name_phrase(parts[0]) and parts[0][0] != "The":
        found = cast.resolve(parts[0])  # "Michael Seaman, who lives outside Sacramento, said"
        if found:
            return found
    # The name nearest the verb, past descriptions: "Anne Richards, assistant secretary
    # of state for population, refugees, and migration, said".
    near = next((p for p in reversed(parts[1:]) if _is_name_phrase(p)), None)
    if near:
        found = cast.resolve(near)
        if found:
            head = parts[0]
            if head[0].lower() == "the" and not found.role and any(w.lower() in ROLE_WORDS for w in head):
                found.role = " ".join(head[1:])
            return found
    return _head(parts, cast)


def _is_name_phrase(words: list[str]) -> bool:
    """A name with perhaps a few words of description before it: "Gov. John Kasich",
    "Texas delegate Bill Eastland"; not "after winning Ohio"."""
    run = _trailing_name(words)
    lead = words[:len(words) - len(run)]
    return (bool(run) and len(words) <= 7 and len(lead) <= 4 and words[0].lower() not in _NOT_OPENING_NAMES
            and not any(w.lower() in _FUNCTION_WORDS or w.endswith("ing") for w in lead))


def _head(parts: list[list[str]], cast: _Cast) -> Person | None:
    """The subject that opens the sentence before an apposition or relative clause:
    "Local librarian Tom Whitcombe, who has worked …, said", "The independent
    crossbencher, who served …, added"."""
    if not parts:
        return None
    head = parts[0]
    while head and (head[0].lower() in _CONJUNCTIONS or head[0][:1].isdigit()):
        head = head[1:]  # "81-year-old Parker Eaton"
    if all(w.isupper() for w in head):
        return None  # a dateline: "WASHINGTON", "NEW YORK"
    if not head:
        return None
    described = head[0].lower() == "the" and len(head) <= 6
    # One capitalised word opening a sentence is a name only if the text has named
    # someone so ("Meanwhile, …" is not; "Ramos, 58, told AFP" after "Juan Ramos" is).
    known = len(head) > 1 or cast.known(head[0])
    if (not described and known and len(head) <= 6 and head[-1][:1].isupper()
            and all(w[:1].isupper() or w.lower() in ROLE_WORDS or w in _NAME_PARTICLES for w in head)):
        found = cast.resolve(head)
        if found:
            return found
    if described or (len(head) == 1 and head[0].lower() in _PRONOUNS):
        return cast.resolve(head)
    return None


def _inverted(outside: str, cast: _Cast) -> Person | None:
    """A name right after a quotation and a verb of any kind: "“This is fantastic!”
    beamed Donald Hartley of Madison"."""
    m = re.match(r"[\x00 ]*\x00 ?([a-z]+(?:ed|s)) ((?:[A-Z][\w.'’-]*(?: |$))+)", outside)
    if not m:
        return None
    run = _leading_name(m.group(2).split())
    return cast.resolve(run) if run and (len(run) > 1 or cast.known(run[0])) else None


def _tagged(sent: str, cast: _Cast) -> Person | None:
    """A transcript tag opening a paragraph: "PENCE: …", "MR. TRUMP: …"."""
    m = _TRANSCRIPT.match(sent)
    if not m or not any(len(w.strip(".")) > 1 for w in m.group(1).split()):
        return None
    words = [w.capitalize() if w.isupper() else w for w in m.group(1).split()]
    if words[0].lower().rstrip(".") in ("mr", "mrs", "ms", "dr"):
        words[0] = words[0].rstrip(".").capitalize()
    # "UPDATE:" or "WATCH:" is no speaker: the tag must name someone the text names,
    # or open more than one paragraph, as a transcript's speakers do.
    if not (cast.known(words[-1]) or cast.tags.count(m.group(1)) > 1):
        return None
    return cast.resolve(words)


def _credited(sent: str, cast: _Cast) -> Person | None:
    """A dash credit ending a quotation: "“…” — Bernie Sanders"."""
    m = _DASH_CREDIT.search(sent)
    return cast.resolve(m.group(1).split()) if m else None


def _quotes(sent: str) -> bool:
    return "“" in sent or "”" in sent or '"' in sent


def _opening_subject(parts: list[list[str]], cast: _Cast, register: bool = True) -> Person | None:
    """The person a sentence opens with as its subject: a name (or he/she), maybe with
    a role, followed by a lower-case word, in its first three clauses ("In recent
    weeks, Reid has gone after Trump as …", "“…?” Vitter demanded.", "Former Obama
    spokesman Robert Gibbs derided …")."""
    for at, words in enumerate(parts[:3]):
        while words and words[0] in ("But", "And", "So", "Yet", "Still", "Also", "Then"):
            words = words[1:]
        if not words or all(w.isupper() for w in words):  # a dateline: "PHILADELPHIA"
            continue
        if words[0].lower() in _PRONOUNS and len(words) > 1:
            return cast.resolve(words[:1]) if register else None
        k = 0
        while k < len(words) and k < 8 and (words[k][:1].isupper() or words[k].lower() in ROLE_WORDS
                                             or (k and words[k] in _NAME_PARTICLES)
                                             or (k and _describes(words[k:k + 3]))):
            k += 1
        run = words[:k]
        while k + 1 < len(words) and words[k] in ("on", "last", "this") and words[k + 1].lower() in _DATES:
            words = words[:k] + words[k + 2:]  # "Sanders (I-Vt.) on Saturday criticized …"
        while k + 1 < len(words) and words[k].lower() in _FILLERS and not _verb_like(words[k]):
            words = words[:k] + words[k + 1:]  # "Lewandowski earlier quashed …"
        # "Jeb Bush, the former governor, criticised …": the verb comes after an apposition.
        # "Franson Reneus, 18, from Lee County, Fla., disagrees.": past any number of appositions.
        verb, after = (words[k], words[k + 1] if k + 1 < len(words) else "") if k < len(words) else (
            next((p[0] for p in parts[at + 1:] if _verb_like(p[0])), ""), "")
        if not run or not _verb_like(verb, after) or (run[0].lower() in _NOT_NAMES and run[0] != "The"):
            continue
        role, name = _split_role_name(run)
        single = len(name) == 1 and not cast.known(name[0])
        if name and not (single and name[0].endswith("s")) and not name[-1].endswith(("’", "'", "’s", "'s")):
            if register:
                return cast.person(name, role)
            return next((p for p in cast.people if p.name == " ".join(name) or p.surname == name[-1]), None) \
                or Person(" ".join(name), role)
    return None


def _describes(words: list[str]) -> bool:
    """Lower-case words that lead to a role: "presidential candidate Sen. Bernie Sanders"."""
    for w in words:
        if w.lower() in ROLE_WORDS:
            return True
        if not w.isalpha() or not w.islower() or w in _FUNCTION_WORDS:
            return False
    return False


def _verb_like(word: str, after: str = "") -> bool:
    """Whether the word after a name can be its verb ("Trump gestured", "Reid has gone",
    "Bush broke down"), not a noun it modifies ("Texas delegate", "Trump supporters").
    A present tense ("Weld describes the party as …") is told from a plural by
    what follows: an object or the quotation ("the", "him", a quote), not a verb."""
    word = word.lower().rstrip(".,!?")
    present = (word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3
               and (after.lower() in _AFTER_PRESENT or after == ""))
    return (word.endswith(("ed", "ly")) or word in _AUXILIARIES or word in _IRREGULAR_PAST
            or word in SPEECH_VERBS or word in _PARTICIPLES or present)


def _subject(parts: list[list[str]], cast: _Cast) -> Person | None:
    """Whom a sentence with no speaker is about: the known person it names first,
    or the name it opens with ("Jeb Bush, the former governor, criticised Trump.")."""
    opening = _opening_subject(parts, cast, register=False)  # registered only if a pronoun makes them speak
    if opening:
        return opening
    surnames = {p.surname: p for p in cast.people}
    for words in parts:
        for w in words:
            w = _strip_possessive(w)  # "Tuttle’s article also attacked Christie": about Tuttle
            if w in surnames:
                return surnames[w]
    return None


def _leading_name(words: list[str]) -> list[str]:
    """The capitalised run opening `words`, titles kept ("Sen. Ted Cruz"), dates not ("Friday")."""
    run = []
    for w in words:
        w = _strip_possessive(w.rstrip(".!?") if w not in _COURTESY and w.lower() not in ROLE_WORDS else w)
        if w[:1].isupper() and w.lower() not in _NOT_NAMES:
            run.append(w)
        elif run and w in _NAME_PARTICLES:
            run.append(w)
        else:
            break
    while run and run[-1] in _NAME_PARTICLES:
        run.pop()
    return run


def _named_after(rest: str) -> list[str]:
    """The words naming someone after a verb, up to a clause boundary or preposition."""
    # A full stop left alone by a masked aside is no word: 'said Sen. Chris Murphy (D-Conn.).'
    after = [w for w in rest.split(_BOUNDARY, 1)[0].split() if w.strip(".!?")]
    peer = bool(after) and after[0] in _TITLES  # "Baroness Chapman of Darlington"; else "of" starts a place
    # "of" ends a name ("Michael Brown of Washington") but not a description before
    # one ("said former secretary of state Hillary Clinton").
    cut = next((k for k, w in enumerate(after) if w.lower() in _AFTER_NAME
                or (w == "of" and not peer and any(x[:1].isupper() for x in after[:k]))
                or (k and w.lower().rstrip(".,") in _DATES)), len(after))
    return after[:min(cut, 8)]


def _trailing_name(words: list[str]) -> list[str]:
    """The capitalised run ending `words` ("with Gorka" -> ["Gorka"])."""
    k = len(words)
    while k > 0 and words[k - 1][:1].isupper() and words[k - 1].lower() not in _NOT_NAMES and len(words) - k < 4:
        k -= 1
    return words[k:]


def _strip_possessive(word: str) -> str:
    """"Pistorius’s" -> "Pistorius", "Jones'" -> "Jones"; other words unchanged."""
    for ending in ("’s", "'s", "’", "'"):
        if word.endswith(ending) and len(word) > len(ending) + 1:
            return word[: -len(ending)]
    return word


def _split_role_name(words: list[str]) -> tuple[str, list[str]]:
    """["German", "defence", "minister", "Boris", "Pistorius"] -> ("German defence minister", ["Boris", "Pistorius"])."""
    words = [w.rstrip("!?,") if w not in _COURTESY and w.lower() not in ROLE_WORDS else w for w in words]
    words = [w[:-1] if w.endswith(".") and len(w) > 3 and w.lower() not in ROLE_WORDS else w for w in words]
    # The name is the trailing run of capitalised words (and particles).
    i = len(words)
    while i > 0 and (words[i - 1][:1].isupper() or (words[i - 1] in _NAME_PARTICLES and i < len(words))):
        i -= 1
    run = words[i:]
    while run and (run[0] in _NAME_PARTICLES or (run[0].lower() in _NOT_NAMES and len(run) > 1)):
        run, i = run[1:], i + 1  # "The New York Post" is "New York Post", "As Michael Dell" is "Michael Dell"
    # A capitalised role ("Defence Secretary John Healey", "Sen. Ted Cruz") is not part of the name.
    last_role = max((k for k, w in enumerate(run) if w.lower() in ROLE_WORDS), default=-1)
    role_words = words[:i] + run[: last_role + 1]
    name = run[last_role + 1:]
    if not name or name[0].lower() in _NOT_NAMES:
        return " ".join(role_words), []
    # A lower-case phrase before a name is a role only if it ends in a role word.
    if role_words and role_words[-1].lower() not in ROLE_WORDS:
        role_words = []
    # Keep only the noun phrase: "sign of President" -> "President".
    cut = max((k for k, w in enumerate(role_words) if w.lower() in _FUNCTION_WORDS), default=-1)
    return " ".join(role_words[cut + 1:][-4:]), name


def _role_matches(described: str, role: str) -> bool:
    d, r = set(described.split()), set(role.lower().split())
    head = role.lower().split()[-1]
    return head in d and len(d & r) >= min(2, len(r))


_MENTION = re.compile(
    r"\b((?:[A-Za-z]+(?:['’]s)? ){0,3}?(?:" + "|".join(sorted(w for w in ROLE_WORDS if "." not in w)) + r"|"
    + "|".join(w.capitalize() for w in sorted(ROLE_WORDS) if "." not in w) + r")) "
    r"((?:(?:Mr|Mrs|Ms|Dr|" + "|".join(_TITLES) + r") )?[A-Z][\w’'-]+(?: (?:of |de |von |van )?[A-Z][\w’'-]+){0,3})"
)
