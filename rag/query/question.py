"""Question: what a question asks, read before anything is scored.

`read_question` returns a `Query` that says:

- its form: a `factoid` (one fact), an `overview` ("What's the gist?", "Sum up
  X's position"), a `list` ("Who is quoted?", "Which countries …?", "What
  charges …?") or a `comparison` ("How did X's view differ from Y's?");
  a multi-part question ("Who is X, and what did he say …?") is split by
  `parts` and each part read on its own;
- the kind of answer a factoid wants: a number, an amount of money, a time, a
  place, a person, or who someone is;
- the people it names (by name, surname, role, or a description such as "the
  German minister"), and the actor when it asks what someone said or thought
  ("What did X say", "X's reaction", "according to X"): a person, or a country
  or other body ("Seoul's reaction");
- its topic: the content terms left once names, question words, speech verbs
  and words about the question's form are removed;
- capitalised names that no document contains.

Left out: parsing (these are patterns over words), negation, questions in
languages other than English.
"""

import re
from dataclasses import dataclass, field

from ..speakers import ROLE_WORDS, Person
from ..lexical import fold, in_vocabulary, stopwords, terms, words
from ..store import Index
from .vocabulary import (ANSWER_TYPE, CUE_WORDS, QUESTION_STOP, QUESTION_WORDS, by_meaning, country_of, country_terms,
                         meta_terms, region_terms, synonyms)

# Words that ask what is not known; a sentence that says something is unclear answers them.
_UNKNOWN_WORDS = re.compile(r"\b(unknown|unclear|uncertain|unconfirmed|unsure)\b", re.I)
UNCERTAIN = re.compile(r"\b(not (?:yet |entirely |immediately )?(?:clear|known|certain|confirmed|sure)|unclear|"
                       r"unknown|uncertain|unconfirmed|no one knows|remains to be seen)\b", re.I)

_OVERVIEW = re.compile(
    r"\b(gist|summar(?:y|ise|ize|ising|izing)|sum\s+(?:\w+\s+){0,3}?up|nutshell|overview|tl;?\s?dr|in\s+brief|"
    r"main\s+(?:points?|idea|message|argument)|key\s+(?:points?|takeaways?|messages?)|"
    r"what(?:'s|’s|\s+is|\s+was)\s+(?:this|the)\s+(?:story|article|piece|report|document|text)\s+about)\b", re.I)
_COMPARISON = re.compile(r"\b(compare[ds]?|comparison|compared|contrast(?:s|ed)?|versus|vs\.?)\b", re.I)
# "How did X's view differ from Y's?" is a comparison; "the age difference between X and Y" a fact.
_DIFFERENCE = re.compile(r"\b(differ(?:s|ed|ence|ences|ent)?|similar(?:ly|ity)?|alike)\b", re.I)
_QUOTED = re.compile(r"^\s*(?:who|which\s+(?:people|persons|officials|ministers|experts))\b.*\b("
                     r"quoted|quotes|quote|cited|spoke|speaks|speak|interviewed|comment(?:s|ed)?|"
                     r"mentioned|named|featured|appear(?:s|ed)?)\b", re.I)
_LIST = re.compile(r"^\s*(?:\w+\s+){0,2}?(?:which|what)\s+(?:(?:other|different|main|military|\w+'s|\w+’s)\s+)?"
                   r"(\w+?)(s|ies|es)(?:'|’)?\s", re.I)
# Words ending in "s" that are not plurals ("What is …", "Which news …"); so is any word in -ss, -us or -is.
_NOT_PLURAL = {"is", "was", "has", "does", "this", "its", "yes", "plus", "news", "series", "species", "whereas"}
_COUNTRY_LISTS = re.compile(r"\b(countr(?:y|ies)|nations?|states|governments)\b", re.I)
_PLACE_LISTS = re.compile(r"\b(capitals|cities|places|regions)\b", re.I)  # asked after _COUNTRY_LISTS
# Nouns and verbs that ask for what someone said or thought.
_SPEECH_NOUNS = set("""
view views position stance reaction response verdict point argument remarks comments comment message
words claim claims warning accusation accusations charges opinion framing concern concerns worry worries
fear fears demand demands
""".split())
# People a description such as "the minister" may stand for at once.
MAX_DESCRIBED = 5
PARTS_SPLIT = re.compile(
    r"(?:,\s*(?:and|but)\s+|\s+and\s+(?=(?:what|who|whom|whose|when|where|why|how|which)\b)|;\s*|\?\s+)"
    r"(?=(?:what|who|whom|whose|when|where|why|how|which|did|does|do|is|are|was|were|has|have|can)\b)", re.I)


@dataclass
class Query:
    text: str
    form: str                   # "factoid", "overview", "list" or "comparison"
    kind: str | None            # for factoids: "number", "money", "time", "place", "person", "identity"
    people: list[Person]
    topic: list[str]
    unknown_names: list[str]
    speech_verbs: set[str]      # "warn" in "What did X warn about?"
    speech: bool = False        # asks what someone said, thought or how they reacted
    actor: list[Person] = field(default_factory=list)     # whose words are asked for
    actor_bodies: list[tuple[str, ...]] = field(default_factory=list)  # countries/bodies asked for, as forms
    list_of: str | None = None  # "people" or "places" for lists of those
    question_terms: set[str] = field(default_factory=set)
    # Other terms that cover a topic term: synonyms ("troop" for "soldier"),
    # the countries of a region ("china", "india" for "asia").
    alternatives: dict[str, set[str]] = field(default_factory=dict)
    # Terms that partly cover a word no document has: its nearest word by meaning.
    related: dict[str, set[str]] = field(default_factory=dict)
    uncertain: set[str] = field(default_factory=set)  # topic terms that ask what is not known ("unknown")
    unknown_actor: str | None = None  # "the Chilean president" when no one quoted holds that office
    # ("Russia", "North Korea") in "What is Russia giving North Korea?"; ("Russia", "") in "What is Russia providing?"
    direction: tuple[str, str] | None = None
    parts: list["Query"] = field(default_factory=list)  # each part of a question of several, read alone

    def to_json(self) -> dict:
        """What was read, as `rag ask --explain` shows it."""
        out = {"question": self.text, "form": self.form, "kind": self.kind, "people": [p.name for p in self.people],
               "actor": [p.name for p in self.actor] + [b[0] for b in self.actor_bodies], "speech": self.speech,
               "topic": self.topic, "unknown_names": self.unknown_names}
        if self.direction:
            out["direction"] = [side for side in self.direction if side]
        if self.parts:
            out["parts"] = [p.text for p in self.parts]
        return out

    def found(self, term: str, index: Index) -> bool:
        """Whether the documents have a topic term, or words that stand for it."""
        return in_vocabulary(index, term) or bool(self.alternatives.get(term) or self.related.get(term))


def parts(question: str) -> list[str]:
    """A multi-part question split into its questions ("Who is X, and what did he say …?")."""
    pieces = [p.strip(" ,;?") for p in PARTS_SPLIT.split(question)]
    pieces = [p for p in pieces if len(terms(p)) >= 1]
    return [p[:1].upper() + p[1:] + "?" for p in pieces] if len(pieces) > 1 else [question]


_TOKEN = re.compile(r"\w+(?:[-.]\w+)*")


def named_people(question: str, index: Index) -> list[tuple[Person, tuple[int, int]]]:
    """The people a question names (by name, surname, role or a description that
    fits one role: "the German minister"), with where it names them.

    Longest matches first: "Boris Pistorius" is one mention, not two."""
    table, longest = _alias_table(index)
    tokens = [(fold(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(question)]
    found: list[tuple[Person, tuple[int, int]]] = []
    taken = [False] * len(tokens)
    for size in range(min(longest, len(tokens)), 0, -1):
        for i in range(len(tokens) - size + 1):
            if any(taken[i:i + size]):
                continue
            people = table.get(" ".join(t for t, _, _ in tokens[i:i + size]))
            if people:
                taken[i:i + size] = [True] * size
                for person in people:
                    if all(p.name != person.name for p, _ in found):
                        found.append((person, (tokens[i][1], tokens[i + size - 1][2])))
    described = list(_described(question, tokens, taken, index))
    # "the minister" in a collection with hundreds of ministers names no one in particular.
    if len({p.name for p, _ in described}) <= MAX_DESCRIBED:
        for person, span in described:
            if all(p.name != person.name for p, _ in found):
                found.append((person, span))
    return sorted(found, key=lambda f: f[1])


def _alias_table(index: Index) -> tuple[dict[str, list[Person]], int]:
    """Alias (lower-cased words) -> people, built once per index."""
    if "aliases" not in index.derived:
        table: dict[str, list[Person]] = {}
        for people in index.people.values():
            for person in people:
                if country_of(person.name):
                    continue  # "…, says UK": a country is asked about as a body, not a person
                for alias in person.aliases():
                    key = " ".join(_TOKEN.findall(fold(alias)))
                    if key in stopwords() or key in QUESTION_WORDS:
                        continue  # "When" at the start of a sentence is not a name
                    # A one-word role ("President") names too many people to narrow a question down.
                    if key and not (alias == person.role and " " not in key):
                        table.setdefault(key, []).append(person)
        index.derived["aliases"] = (table, max((k.count(" ") + 1 for k in table), default=0))
    return index.derived["aliases"]


# Titles that name the same office in different governments ("defence
# minister" / "Defence Secretary").
_SAME_OFFICE = {"secretari": "minist", "chief": "head", "command": "head"}


def _canonical(word: str) -> str:
    """A word's term, with every name of a country as one ("British", "UK" -> "GBR")."""
    country = country_of(word)
    if country:
        return country.code
    found = terms(word)
    return _SAME_OFFICE.get(found[0], found[0]) if found else ""


def _described(question: str, tokens, taken, index: Index):
    """People a question describes by their role in other words: "the German
    minister", "Germany's defence minister" for "German defence minister". The
    role's last word must be there, with one more of its words, and no other
    country than the role's."""
    canon = [_canonical(t) for t, _, _ in tokens]
    roles = _roles(index)
    for i, c in enumerate(canon):
        if taken[i] or c not in roles:
            continue
        window = [canon[j] for j in range(max(0, i - 3), i + 1)]
        countries = {w for w in window if w.isupper()}
        # "the minister" alone: whoever holds an office of that name.
        bare = all(not w or w == c for w in canon[max(0, i - 3):i] if w not in ("s",)) and not countries
        for person, role, role_countries in roles[c]:
            # "Britain's defence minister" is not the German defence minister.
            if (len(set(window) & role) >= 2 or bare) and not (role_countries and countries - role_countries):
                yield person, (tokens[max(0, i - 3)][1], tokens[i][2])


def _roles(index: Index) -> dict[str, list[tuple[Person, set[str], set[str]]]]:
    """Role head word -> (person, role words, role countries), for roles of two words or more."""
    if "roles" not in index.derived:
        table: dict[str, list] = {}
        for people in index.people.values():
            for person in people:
                role = [r for r in (_canonical(w) for w in person.role.split()) if r]
                if len(role) >= 2:
                    table.setdefault(role[-1], []).append((person, set(role), {r for r in role if r.isupper()}))
        index.derived["roles"] = table
    return index.derived["roles"]


def _role_phrase(text: str) -> bool:
    """Whether words name someone by office ("the Chilean president")."""
    return any(w.lower() in ROLE_WORDS for w in re.findall(r"[A-Za-z]+", text))


def read_question(question: str, index: Index) -> Query:
    lowered = question.lower()
    named = named_people(question, index)
    people = [person for person, _ in named]
    name_terms = set()
    for _, (s, e) in named:
        name_terms.update(terms(question[s:e]))

    form = _form(question, people)
    kind = _answer_kind(lowered) if form == "factoid" else None
    content = " ".join(w for w in words(question) if w.lower() not in QUESTION_STOP and w.lower() not in CUE_WORDS
                       and w.lower() not in _SPEECH_NOUNS)
    topic = [t for t in dict.fromkeys(terms(content)) if t not in name_terms and t not in meta_terms()]
    # "What is it called?" asks for a name, not for what someone said.
    asked_verbs = set(terms(question)) & meta_terms() - {"call"}
    typed = ANSWER_TYPE.match(question)
    if typed and (kind in ("place", "person", "time") or form == "list"):
        # "Which city hosted …": the answer is a city, not a sentence that says "city".
        topic = [t for t in topic if t not in terms(typed.group(1))]
    if kind == "identity" and not people:
        kind = "person"  # "Who is Britain's defence minister?" asks for a name
    if kind == "person" and people and not set(terms(people[0].name)) & set(terms(question)):
        kind = "identity"  # ... that the question describes: the sentence that introduces them
    if kind == "identity":
        topic = list(dict.fromkeys(topic + [t for p in people for t in terms(f"{p.name} {p.role}")]))
    q = Query(question, form, kind, people, topic, _unknown_names(question, index), asked_verbs,
                 question_terms=set(terms(question)))
    by_term = {terms(w)[0]: w for w in words(question) if len(terms(w)) == 1}
    for t in topic:
        alt = synonyms(t, index) if in_vocabulary(index, t) else set()
        word = by_term.get(t, "")
        alt |= region_terms(word, index) | country_terms(word, index)
        if alt - {t}:
            q.alternatives[t] = alt - {t}
    q.related = {t: r for t, r in by_meaning(question, index).items() if t in topic and t not in q.alternatives}
    q.uncertain = {t for w in _UNKNOWN_WORDS.findall(question) for t in terms(w)} & set(topic)
    q.direction = direction(question, people)
    q.speech = bool(asked_verbs) or bool({w.lower() for w in words(question)} & _SPEECH_NOUNS)
    if q.speech or form in ("overview", "comparison"):
        _read_actor(q, named, index)
    if form == "list":
        q.list_of = ("people" if _QUOTED.search(question) else "countries" if _COUNTRY_LISTS.search(question)
                     else "places" if _PLACE_LISTS.search(question) else None)
    return q


_LOCATIVE = {"in", "at", "inside", "within", "near", "on", "across", "around", "outside"}


def direction(question: str, people: list[Person]) -> tuple[str, str] | None:
    """The two countries or people either side of a verb ("Russia giving North
    Korea"), in the question's order. Names of other things, and passives
    ("invaded by"), say nothing about direction."""
    found = list(re.finditer(r"[A-Z][\w’'-]+(?: [A-Z][\w’'-]+)*", question))[1:]
    aliases = {a for p in people for a in p.aliases()}
    found = [m for m in found if country_of(m.group()) or m.group() in aliases]
    for a, b in zip(found, found[1:]):
        between = re.findall(r"[\w’'-]+|[,;:]", question[a.end():b.start()])
        verbs = [w for w in between if w.lower() not in stopwords()]
        # "troops are in Russia" places, it does not give: no direction after "in", "at" …
        if (verbs and len(between) <= 3 and "by" not in between and not set(between) & {",", ";", ":"}
                and between[-1].lower() not in _LOCATIVE):
            return a.group(), b.group()
    if len(found) == 1:  # "What is Russia providing?": Russia gives; a sentence where it receives runs the other way
        after = re.findall(r"[\w’'-]+", question[found[0].end():])
        if len(after) == 1 and after[0].lower() not in stopwords() and after[0].endswith("ing"):
            return found[0].group(), ""
    return None


def _form(question: str, people: list[Person]) -> str:
    if _OVERVIEW.search(question):
        return "overview"
    if _COMPARISON.search(question) or (_DIFFERENCE.search(question) and (
            len(people) >= 2 or re.match(r"\W*how\b", question, re.I))):
        return "comparison"
    if _QUOTED.search(question):
        return "list"
    m = _LIST.match(question)
    if m and m.group(1).lower() in ("year", "date", "day", "month", "time", "decade", "centur"):
        return "factoid"  # "During which years …": a time, said in one sentence
    word = (m.group(1) + m.group(2)).lower() if m else ""
    if m and word not in _NOT_PLURAL and not word.endswith(("ss", "us", "is")):
        return "list"
    return "factoid"


def _read_actor(q: Query, named, index: Index) -> None:
    """Whose words a question asks for: the person (or country) that is the
    subject of its speech verb, owner of its "reaction", or after "according to"."""
    text = q.text
    spans = []
    m = re.search(r"\b(?:did|does|do|has|have|is|was|were|will|would)\s+((?:[\w’'-]+\s+){0,5}?[\w’'-]+)\s+"
                  r"(?:\w+ly\s+)?(say|tell|think|believe|describe|react|respond|reply|feel|see|view|argue|claim|"
                  r"warn|mention|call|suggest|state|explain|add|comment|predict|insist|announce|note)\b", text, re.I)
    if m is None:
        m = re.search(r"\b(?:did|does|do|has|have|is|was|were|will|would)\s+(.+?)\s+(?:\w+ly\s+)?(\w+)\b", text, re.I)
    subject = re.match(r"(?:did|does|do|has|have|is|was|were|will|would)\s+(?:the\s+)?", text, re.I)
    first = [span for _, span in named if subject and span[0] == subject.end()]
    if first:
        spans = first[:1]  # "Did X go along with Y's point?": X, not Y
    else:
        if m and (set(terms(m.group(2))) & meta_terms() or m.group(2).lower() in {"react", "think", "feel", "see"}):
            spans.append(m.span(1))  # "What did X say"
        if a := re.search(r"\baccording to (.+?)(?:,|$)", text, re.I):
            spans.append(a.span(1))
        for p in re.finditer(r"((?:\w+[\s-]){0,3}\w+)(?:’s|'s)\s+(\w+)(?:\s+(\w+))?", text):
            if {(p.group(2) or "").lower(), (p.group(3) or "").lower()} & _SPEECH_NOUNS:
                spans.append(p.span(1))  # "Seoul's reaction", "Seoul's official reaction"
        for c in re.finditer(r"\b(?:the\s+)?(?:joint\s+)?((?:[A-Z]\w+[\s-]){1,3})(\w+)", text):
            if c.group(2).lower() in _SPEECH_NOUNS and c.start(1) > 0:
                spans.append(c.span(1))  # "the British-German verdict"
    for s, e in spans:
        q.actor += [p for p, (ps, pe) in named if ps < e and pe > s and p not in q.actor]
    if not q.actor:
        for s, e in spans:
            if _role_phrase(text[s:e]) and not named_people(text[s:e], index):
                # "What did the Chilean president say?" and no president is quoted:
                # a Chilean minister does not stand in for them.
                q.unknown_actor = text[s:e].strip()
                return
            for w in re.findall(r"[A-Z]\w+(?:\s+[A-Z]\w+)*", text[s:e]):
                country = country_of(w)
                if country or (w.lower() not in QUESTION_WORDS and _canonical(w) and in_vocabulary(index, _canonical(w))):
                    q.actor_bodies.append(country.forms if country else (w,))
    if not q.actor and not q.actor_bodies and q.speech:
        q.actor = list(q.people)


def _unknown_names(question: str, index: Index) -> list[str]:
    """Capitalised words after the first that no document contains, with their
    neighbours kept together: "Emmanuel Macron", not "Emmanuel", "Macron"."""
    unknown, run = [], []
    for n, w in enumerate([*words(question), ""]):
        # Acronyms and codes ("WWI", "O3") may be spelt out in the text, so they alone prove nothing.
        acronym = w.isupper() or any(c.isdigit() for c in w)
        known = (n == 0 or not w[:1].isupper() or acronym or w.lower() in QUESTION_WORDS or w == "I"
                 or w.lower() in stopwords() or all(in_vocabulary(index, t) for t in terms(w))
                 or region_terms(w, index))  # "Asia" is there when North Korea and China are
        if known:
            if run:
                unknown.append(" ".join(run))
            run = []
        else:
            run.append(w)
    return list(dict.fromkeys(unknown))


def _answer_kind(q: str) -> str | None:
    q = re.sub(r"^\s*(?:and|so|but|also|roughly|approximately|about|exactly|in|on|at|during|for|from|since|until)\s+",
               "", q)
    if re.match(r"\s*how much (?:\w+ )?(?:does|did|do|will|would|is|was|are|were)\b.*\b(cost|costs|pay|paid|spend|spent|"
                r"worth|price|charge|fund|funding|budget|earn|earned|raise|raised|owe)\b", q) \
            or re.match(r"\s*(?:what|how much) (?:is |was |are |were |did )?(?:the )?(?:[\w-]+ ){0,2}"
                        r"(?:cost|costs|price|prices|budget|fee|fees|fare|fares|salary|fine|bill)\b", q):
        return "money"
    if re.match(r"\s*(how (many|much|long|old|far|big|large|often)|what (number|percentage|share|proportion|amount))\b", q):
        return "number"
    if re.match(r"\s*(when|what (year|years|date|time|day|month)|which (year|years|date|day|month)|since when)\b", q):
        return "time"
    if re.match(r"\s*(where|what (city|country|place|town)|which (city|country|place|town))\b", q):
        return "place"
    if re.match(r"\s*(who (is|was|are|were|'s|’s)|what (is|was) (the )?(role|job|position|title|post) of|what (\w+ )?(role|job|title|post|office) does)\b", q):
        return "identity"
    if re.match(r"\s*(who|whom|which (leader|person|man|woman|minister|official))\b", q):
        return "person"
    return None
