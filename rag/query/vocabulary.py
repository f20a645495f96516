"""Vocabulary: read a reader's words as the documents' words.

Readers mistype names ("Pistorious"), use another name for a country
("Britain", "Pyongyang", "DPRK") or another word for the same thing
("worldwide" where the text says "global"). `rewrite` turns each name of a
question that the index has never seen into one it has, when one clearly stands
for it, and leaves the rest alone:

1. countries, from a gazetteer (the `countryinfo` package): a country's name,
   other spellings, capital, demonym and the acronym of its long name all stand
   for each other ("Moscow" -> "Russia", "British" -> "UK", "DPRK" -> "North
   Korea"); a capitalised word the gazetteer lacks stands for the country the
   documents name that is nearest to it in meaning ("Britain" -> "UK");
2. names the index knows (people, roles, capitalised words), by spelling (the
   Levenshtein distance of RapidFuzz): "Healy" -> "Healey", "stirup" -> "Stirrup";
   and long common words one or two letters off ("ammunitoin").

The rewritten question is what retrieval and the answer step see, and what the
answer reports as understood, so a reader can see how they were read.

Other words are matched by meaning (`by_meaning`): the shipped embedding model
compares the word with the index's vocabulary ("worldwide" -> "global"). That
is weaker evidence (single words embed noisily; antonyms embed close), so it is
not written into the question: the answer step counts such a word as partly
covered by its nearest word of the documents.

The answer step also asks `synonyms` (the documents' own words that mean the
same: "soldiers"/"troops"), `region_terms` ("Asia": the Asian countries the
documents name) and `country_terms` ("Pyongyang", "the North": North Korea).

Left out: typos in common words shorter than six letters, words split or run
together, languages other than English, places below the country level, names
of bodies other than countries ("Brussels" is read as Belgium, not the EU).
"""

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..lexical import MAX_EMBEDDED_WORDS, TOKEN as _TOKEN, Lexicon, WordVectors, lexicon
from ..lexical import fold, in_vocabulary, stopwords, terms
from ..store import Index
from ..weights import fitted

# Edits (a letter wrong, missing or extra) a mistyped name may have, a fixed
# rule in the manner of Lucene's AUTO fuzziness: one in a name of four to seven
# letters ("Healy", "Okafur", "Chapmen"), two in a longer one ("Pistorious");
# "Seoul"/"South" (three) is another word.
def max_name_edits(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2
# The thresholds below are fitted (bench/selection.py; rag/weights.py).
# Common words are corrected only when long and close in spelling: short words
# have too many neighbours one letter away.
WORD_SIMILARITY = fitted().word_similarity
# Cosine between a reader's word and a word of the documents (all-MiniLM-L6-v2)
# for one to stand for the other ("worldwide"/"global" 0.72, "legal"/"law"
# 0.68; "acting"/"actions" 0.60 and "Kremlin"/"Vladimir" 0.52 are not the same
# thing). Single words embed noisily.
MEANING_SIMILARITY = fitted().meaning_similarity
# Words of the documents that stand for each other in a question's topic
# ("soldiers"/"troops" 0.89). Only lower-case words: names that embed close
# ("North Korea"/"South Korea" 0.87, "Russia"/"Ukraine" 0.75) are different things.
SYNONYM_SIMILARITY = fitted().synonym_similarity
# Readers' words whose embeddings are kept (about 1.5 KB each).
MAX_ASKED_WORDS = 10_000

# Words that carry no topic in a question (NLTK's English list, trimmed of
# negations, plus words questions are made of). BM25 keeps Lucene's shorter list.
QUESTION_STOP = set("""
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
hers herself it its itself they them their theirs themselves what which who whom whose this that
these those am is are was were be been being have has had having do does did doing a an the and
but if or because as until while of at by for with about against between into through during
before after above below to from up down in out on off over under again further then once here
there when where why how all any both each few more most other some such only own same so than
too very s t can will just should now many much kind sort according also ever
roughly approximately around exactly actually really precisely could would might may must another still yet
""".split())
# Words about a question's form, not its topic: never rewritten, never topic.
CUE_WORDS = frozenset("""
gist summary summarise summarize sum nutshell overview tldr brief main key points point story article
piece report document text compare compared comparison differ differs differed difference differences
different contrast versus vs similar alike quoted quote quotes cited featured interviewed list name
position stance arguing argue argued framing frame framed me
""".split())


@lru_cache(maxsize=1)
def meta_terms() -> frozenset[str]:
    """Words that ask for speech rather than name a topic: "what did X say about …"."""
    return frozenset(terms(
        "say said says tell told describe described think thought mention mentioned according "
        "state stated claim claimed warn warned add added suggest suggested talk speak spoke comment "
        "explain explained believe view react respond responded call called ask asked argue argued arguing"
    ))


QUESTION_WORDS = {"what", "who", "whom", "whose", "when", "where", "why", "how", "which"}
# The noun after "which"/"what" names the kind of answer ("Which city hosted …", "which nations").
ANSWER_TYPE = re.compile(r"\W*(?:\w+\s+){0,2}?(?:which|what)\s+(\w+)", re.I)
# Numbers and function words have near neighbours by meaning that mean something
# else ("two" -> "one", "another" -> "other").
_NOT_CONTENT = set("""
one two three four five six seven eight nine ten eleven twelve hundred thousand million billion first second
third another other others every each either neither whether whatever whoever could would might must shall
""".split())


@dataclass(frozen=True)
class Country:
    code: str               # ISO 3166 alpha-3
    forms: tuple[str, ...]  # every name that stands for it, as written
    capital: str
    demonym: str


@lru_cache(maxsize=1)
def countries() -> dict[str, Country]:
    """Folded name -> country, for every name, spelling, capital, demonym and acronym."""
    import countryinfo

    table: dict[str, Country] = {}
    for c in countryinfo.all_countries():
        info = c.info()
        iso = info.get("ISO") or {}
        codes = {str(v) for v in iso.values()}
        capital = info.get("capital") if isinstance(info.get("capital"), str) else ""
        names = [info.get("name"), *(info.get("altSpellings") or []), capital, info.get("demonym")]
        names = [n for n in names if isinstance(n, str) and n and n not in codes and n.isascii()]
        # "Democratic People's Republic of Korea" -> "DPRK"
        for n in list(names):
            initials = "".join(w[0] for w in re.findall(r"[A-Z][\w']*", n))
            if len(initials) >= 3 and len(n.split()) >= 3:
                names.append(initials)
        demonym = info.get("demonym") if isinstance(info.get("demonym"), str) else ""
        country = Country(str(iso.get("alpha3") or info.get("name")), tuple(dict.fromkeys(names)), capital, demonym)
        for n in country.forms:
            table.setdefault(fold(n), country)
    return table


@lru_cache(maxsize=65536)
def country_of(phrase: str, *, capitals: bool = True) -> Country | None:
    """The country a name stands for; with `capitals=False`, not by its capital
    ("London" is a city in a list of countries)."""
    country = countries().get(fold(phrase.replace("’s", "").replace("'s", "")))
    if country and not capitals and fold(phrase) == fold(country.capital):
        return None
    return country


def rewrite(question: str, index: Index, embedder=None) -> str:
    """`question` with unseen names mended: a country by the name the documents
    use for it (a name the gazetteer lacks, such as "Britain", by the country
    nearest to it in meaning), a mistyped name or word by the one the index knows."""
    lex = lexicon(index)
    # Reworded, the noun that names the kind of answer ("which nations") would no
    # longer say that a list of nations is wanted.
    typed = ANSWER_TYPE.match(question)
    unseen = _unseen(question, index)
    names = [w for s, e, w, c in unseen if c is None and w[:1].isupper() and not country_of(w)
             and not _in_a_name(question, s, e) and not _by_spelling(w, lex)]
    nearest = {}
    if names and embedder is not None:
        # The other unseen words are embedded in the same call: `by_meaning` asks for them next.
        _embed(names + _content_words(question, unseen, index), index, embedder)
        nearest = _nearest_by_meaning(names, index, embedder)
    out, pos = [], 0
    for start, end, word, country in unseen:
        if country is None and (country_of(word) or (typed and start == typed.start(1))):
            continue  # "Swedish" where only Danes speak: another country, not another word for one
        as_country = nearest.get(word) if country_of(nearest.get(word, "")) else None
        better = country or _by_spelling(word, lex) or as_country or _by_spelling(word, lex, common=True)
        if better and fold(better) != fold(word):
            out.append(question[pos:start])
            out.append(better)
            pos = end
    out.append(question[pos:])
    return "".join(out)


def by_meaning(question: str, index: Index, embedder=None) -> dict[str, set[str]]:
    """Term of each unseen content word of `question` -> terms of the documents'
    word nearest to it in meaning ("worldwide" -> {"global"}). Names have no
    synonyms, and nor do numbers, countries or the words a question is made of."""
    asked = set(terms(question))
    todo = _content_words(question, _unseen(question, index), index)
    if not todo:
        return {}
    embedder = embedder or index.embedder()
    return {terms(w)[0]: set(terms(f)) for w, f in _nearest_by_meaning(todo, index, embedder).items()
            if not set(terms(f)) & asked}


def _content_words(question: str, unseen, index: Index) -> list[str]:
    """The unseen words of a question that may have a word of the same meaning in
    the documents: not names, numbers, countries or regions."""
    lex = lexicon(index)
    return [w for s, e, w, c in unseen
            if c is None and not _in_a_name(question, s, e) and not _by_spelling(w, lex)
            and not region(w) and not country_of(w) and w.lower() not in _NOT_CONTENT and terms(w)]


def _unseen(question: str, index: Index) -> list[tuple[int, int, str, str | None]]:
    """(start, end, words, the documents' form of the country they name) for each
    word or country name of `question` that no document contains."""
    tokens = [(m.start(), m.start() + len(w), w) for m in _TOKEN.finditer(question)
              for w in [re.sub(r"[’']s$", "", m.group())]]
    unseen = []
    i = 0
    while i < len(tokens):
        # Country names of several words first: "Great Britain", "Russian Federation".
        for size in (3, 2, 1):
            span = tokens[i:i + size]
            phrase = question[span[0][0]:span[-1][1]] if len(span) == size else ""
            if phrase and (size == 1 or not all(_known(w, index) for _, _, w in span)) and country_of(phrase):
                if not _known(phrase, index):
                    unseen.append((span[0][0], span[-1][1], phrase, _by_country(phrase, index)))
                i += size
                break
        else:
            start, end, word = tokens[i]
            # Question words, words about its form and speech verbs ("tell") are the question's, not the topic's.
            if (not _known(word, index) and word.lower() not in CUE_WORDS | QUESTION_STOP
                    and not set(terms(word)) <= meta_terms()):
                unseen.append((start, end, word, None))
            i += 1
    return unseen


def _in_a_name(question: str, start: int, end: int) -> bool:
    """A capitalised word next to another is part of a name ("Kim Jong Un")."""
    before = question[:start].split()[-1:] if " " in question[:start].strip() else []
    after = question[end:].split()[:1]
    return question[start].isupper() and any(
        w[:1].isupper() and re.sub(r"[’']s$", "", w.lower().strip("?,.")) not in QUESTION_WORDS for w in before + after)


def _known(word: str, index: Index) -> bool:
    low = word.lower()
    if low in QUESTION_WORDS or low in stopwords() or len(word) < 3:
        return True
    found = terms(word)
    return not found or all(in_vocabulary(index, t) for t in found)


def _by_country(word: str, index: Index) -> str | None:
    country = country_of(word)
    if country is None:
        return None
    present = [f for f in country.forms if _present(f, index)]
    if not present:
        return None
    # A demonym for a demonym ("British" -> "UK" only if the text never says
    # "British"), else the form the documents use most; a capital only when
    # nothing else is there (London is a city as often as it is the government).
    demonym = fold(word) == fold(country.demonym)
    counts = {f: sum(index.derived["df"].get(t, 0) for t in terms(f)) for f in present}
    return max(present, key=lambda f: (f != country.capital, (f == country.demonym) == demonym, counts[f], -len(f)))


def _by_spelling(word: str, lex: Lexicon, *, common: bool = False) -> str | None:
    from rapidfuzz import fuzz, process
    from rapidfuzz.distance import Levenshtein

    if common:
        if len(word) < 6:
            return None
        found = process.extractOne(word.lower(), lex.common, scorer=fuzz.ratio, score_cutoff=WORD_SIMILARITY)
        return found[0] if found else None
    edits = max_name_edits(word)
    if not edits:
        return None
    found = process.extractOne(fold(word), lex.folded_names, scorer=Levenshtein.distance, score_cutoff=edits)
    return lex.names[found[2]] if found else None


def _nearest_by_meaning(todo: list[str], index: Index, embedder) -> dict[str, str]:
    lex = lexicon(index)
    table = vectors(index, embedder)
    if not len(table):
        return {}
    # A word and its bare forms ("affected" -> "affect"): single words embed
    # closest to the same part of speech. The best match of any of them counts.
    variants = _embed(todo, index, embedder)
    best: dict[str, tuple[float, int]] = {}
    for lower_only in (True, False):  # a common word stands for a common word, not a name
        asked = [(w, v) for w, v in variants if w.islower() == lower_only]
        if asked:
            sims, rows = table.nearest(np.stack([lex.asked[v] for _, v in asked]), lower_only=lower_only)
            for (word, _), sim, row in zip(asked, sims, rows):
                if row >= 0 and sim > best.get(word, (-2.0, -1))[0]:
                    best[word] = (float(sim), int(row))
    return {word: lex.forms[row] for word, (sim, row) in best.items() if sim >= MEANING_SIMILARITY}


def _embed(words: list[str], index: Index, embedder) -> list[tuple[str, str]]:
    """Embed each word and its bare forms, once per index (a chat asks about the
    same things again); returns (word, form) pairs."""
    lex = lexicon(index)
    variants = [(w, v) for w in words for v in dict.fromkeys([w, *_bare(w)])]
    new = list(dict.fromkeys(v for _, v in variants if v not in lex.asked))
    if len(lex.asked) + len(new) > MAX_ASKED_WORDS:
        lex.asked.clear()
        new = list(dict.fromkeys(v for _, v in variants))
    if new:
        lex.asked.update(zip(new, np.asarray(embedder.encode(new), dtype=np.float32)))
    return variants


def _bare(word: str) -> list[str]:
    """Likely uninflected forms of a word: "affected" -> "affect", "building" -> "build"."""
    low = word.lower()
    for suffix, backs in (("ing", ("", "e")), ("ed", ("", "e")), ("es", ("",)), ("s", ("",))):
        if low.endswith(suffix) and len(low) - len(suffix) >= 3:
            return [low[: -len(suffix)] + back for back in backs]
    return []


def vectors(index: Index, embedder=None) -> WordVectors:
    lex = lexicon(index)
    if lex.vectors is None:
        embedder = embedder or index.embedder()
        lex.vectors = WordVectors(embedder.encode(lex.forms[:MAX_EMBEDDED_WORDS]), lex.lower)
    return lex.vectors


def _rows_of_terms(index: Index) -> dict[str, list[int]]:
    """The embedded common words by their one term, built once per index."""
    if "rows of terms" not in index.derived:
        lex = lexicon(index)
        table: dict[str, list[int]] = {}
        for i, form in enumerate(lex.forms[:MAX_EMBEDDED_WORDS]):
            if lex.lower[i] and len(found := terms(form)) == 1:
                table.setdefault(found[0], []).append(i)
        index.derived["rows of terms"] = table
    return index.derived["rows of terms"]


def synonyms(term: str, index: Index) -> set[str]:
    """Terms of the documents' common words that mean the same as `term` ("soldier" -> "troop")."""
    cache = index.derived.setdefault("synonyms", {})
    if term not in cache:
        lex = lexicon(index)
        rows = _rows_of_terms(index).get(term, [])
        found: set[str] = set()
        if rows:
            table = vectors(index)
            for i in table.within(table.rows(rows), SYNONYM_SIMILARITY):
                if lex.lower[i]:
                    found.update(terms(lex.forms[i]))
        cache[term] = found - {term}
    return cache[term]


@lru_cache(maxsize=1)
def _regions() -> dict[str, list[Country]]:
    import countryinfo

    table: dict[str, list[Country]] = {}
    for c in countryinfo.all_countries():
        info = c.info()
        country = country_of(info.get("name") or "")
        for r in (info.get("region"), info.get("subregion")):
            if isinstance(r, str) and r and country:
                table.setdefault(fold(r), []).append(country)
    return table


def region(word: str) -> list[Country]:
    """The countries of a continent or region ("Asia", "Eastern Europe")."""
    return _regions().get(fold(word), [])


def country_terms(word: str, index: Index) -> set[str]:
    """Terms of the documents that name the country `word` names ("pyongyang" ->
    "north", "korea"), or, for "the North", the country whose name it starts
    and that the documents name ("North Korea")."""
    cache = index.derived.setdefault("country_terms", {})
    if word not in cache:
        country = country_of(word) if word else None
        if country is None and word[:1].isupper():  # every name of the index is looked at: once per word
            named = {country_of(n) for n in lexicon(index).names if n.startswith(word + " ") and country_of(n)}
            if len(named) == 1:
                country = named.pop()
        cache[word] = {t for form in country.forms for t in _present(form, index)} if country else set()
    return cache[word]


def _present(form: str, index: Index) -> list[str]:
    found = terms(form)
    return found if found and all(in_vocabulary(index, t) for t in found) else []


def region_terms(word: str, index: Index) -> set[str]:
    """Terms of the documents that name a country of the region `word`."""
    found: set[str] = set()
    for country in region(word):
        for form in country.forms:
            if form != country.capital:
                found.update(_present(form, index))
    return found
