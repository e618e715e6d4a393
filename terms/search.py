"""Ranked term search, the same on every database: the search index and the queries.

The index is data derived from each term's text (`terms.models.SearchWord` and
`SearchSpelling`), built here and only here: `index_terms` keeps it in step with every
save (terms/apps.py), `rebuild_search_index` and `verify_search_index` serve the
`search_index` command. Searching is plain indexed SQL with integer scores, so SQLite
and PostgreSQL find the same terms in the same order.

How a query matches (the README says the same):
- Words are runs of letters and digits, compared case-folded; "fine-tuning" is the
  words "fine" and "tuning". Common English words ("the", "of") are left out of a query
  that has other words.
- Every word of the query must match a word of the term: the same word, a longer word
  it begins (three letters or more), or, when no visible term has a word like it, a word
  of a visible term's name, abbreviation, expansion or alias one slip away (four letters
  or more: one letter missing, added, wrong, or two neighbours swapped: "lroa" finds
  LoRA). Only the terms visible to the caller count, so hidden terms change no answer.
- `-word` leaves out the terms that hold the word.
- Score: per query word, the weight of the fields holding the matched word (name and
  abbreviation 10, expansion and aliases 4, definition 2), doubled for the same word;
  plus 1000 when the whole query is a name, abbreviation, expansion or alias. Ties go by name.
"""

import difflib
import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, Exists, F, IntegerField, Max, OuterRef, Q, Value, When
from django.db.models.functions import Collate, Lower

from terms.models import SearchSpelling, SearchWord, Term

MAX_QUERY_LENGTH = 200
MAX_QUERY_WORDS = 16
SNIPPET_WORDS = 35
MIN_PREFIX_WORD = 3
MIN_TYPO_WORD = 4
MIN_SPELLING_WORD = 3
# Longer words and phrases are not indexed: no query (200 characters) can equal them.
MAX_INDEXED_LENGTH = 200
PHRASE_SCORE = 1000
# Rank reported to clients: the integer score scaled down.
RANK_SCALE = 100

NAME_WEIGHT = 10
ALIAS_WEIGHT = 4
DEFINITION_WEIGHT = 2
FIELD_WEIGHTS = {
    "name": NAME_WEIGHT,
    "abbreviation": NAME_WEIGHT,
    "expansion": ALIAS_WEIGHT,
    "aliases": ALIAS_WEIGHT,
    "definition": DEFINITION_WEIGHT,
}

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "with",
    ]
)

_TOKEN = re.compile(r"[^\W_]+")


@dataclass
class SearchHit:
    term_id: int
    rank: float
    highlight: str


def normalized(token: str) -> str:
    """A token as search compares it: compatibility-normalized, case-folded, alphanumeric."""
    return "".join(
        char for char in unicodedata.normalize("NFKC", token).casefold() if char.isalnum()
    )


def tokens(text: str) -> Iterable[tuple[re.Match, str]]:
    """Each word of `text` with its normalized form; the one tokenizer of index and query."""
    for match in _TOKEN.finditer(text):
        if word := normalized(match.group(0)):
            yield match, word


def words_of(text: str) -> list[str]:
    return [word for _, word in tokens(text)]


def deletions(word: str) -> set[str]:
    """The word and its spellings with one letter left out."""
    return {word} | {word[:index] + word[index + 1 :] for index in range(len(word))}


def within_one_slip(first: str, second: str) -> bool:
    """Optimal string alignment distance at most 1: one letter missing, added, wrong,
    or two neighbouring letters swapped."""
    if first == second:
        return True
    if abs(len(first) - len(second)) > 1:
        return False
    if len(first) == len(second):
        differ = [index for index, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
        return len(differ) == 1 or (
            len(differ) == 2
            and differ[1] == differ[0] + 1
            and first[differ[0]] == second[differ[1]]
            and first[differ[1]] == second[differ[0]]
        )
    shorter, longer = sorted((first, second), key=len)
    return shorter in deletions(longer)


# The index: what a term contributes, built from its fields alone.


def term_entries(term: Term) -> dict[tuple[int, str], int]:
    """The index rows of one term: (kind, text) -> weight."""
    weights: dict[str, int] = {}
    for field, weight in FIELD_WEIGHTS.items():
        for word in set(words_of(getattr(term, field))):
            weights[word] = weights.get(word, 0) + weight
    entries = {
        (SearchWord.Kind.WORD, word): weight
        for word, weight in weights.items()
        if len(word) <= MAX_INDEXED_LENGTH
    }
    for phrase in [term.name, term.abbreviation, term.expansion, *term.alias_list]:
        if 0 < len(text := " ".join(words_of(phrase))) <= MAX_INDEXED_LENGTH:
            entries[(SearchWord.Kind.PHRASE, text)] = PHRASE_SCORE
    return entries


def is_name_word(weight: int) -> bool:
    """Whether a WORD row's weight includes a name, abbreviation, expansion or alias."""
    return weight > DEFINITION_WEIGHT


def _name_word_rows():
    """The WORD rows of names, abbreviations, expansions and aliases (see `is_name_word`)."""
    return SearchWord.objects.filter(kind=SearchWord.Kind.WORD, weight__gt=DEFINITION_WEIGHT)


def _name_words(entries: dict[tuple[int, str], int]) -> set[str]:
    return {
        text
        for (kind, text), weight in entries.items()
        if kind == SearchWord.Kind.WORD and is_name_word(weight) and len(text) >= MIN_SPELLING_WORD
    }


def _spelling_rows(words: Iterable[str]) -> set[tuple[str, str]]:
    return {(variant, word) for word in words for variant in deletions(word)}


def _stored_name_words(words: Iterable[str]) -> set[str]:
    return set(_name_word_rows().filter(text__in=list(words)).values_list("text", flat=True))


INDEXED_FIELDS = ["id", *FIELD_WEIGHTS]


@transaction.atomic
def index_terms(term_ids: Iterable[int], *, deleting: bool = False) -> None:
    """Bring the index of these terms in step with their rows (with `deleting`: remove
    them from it, before the terms themselves go).

    Spellings are shared by every term holding the word: a word's spellings are added
    with its first holder and removed with its last.
    """
    term_ids = list(term_ids)
    old_words = set(_name_word_rows().filter(term__in=term_ids).values_list("text", flat=True))
    SearchWord.objects.filter(term__in=term_ids).delete()
    new_words: set[str] = set()
    rows = []
    for term in Term.objects.filter(pk__in=[] if deleting else term_ids).only(*INDEXED_FIELDS):
        entries = term_entries(term)
        new_words |= _name_words(entries)
        rows += [
            SearchWord(term=term, kind=kind, text=text, weight=weight)
            for (kind, text), weight in entries.items()
        ]
    SearchWord.objects.bulk_create(rows, batch_size=2000)
    gone = {word for word in old_words - new_words if len(word) >= MIN_SPELLING_WORD}
    gone -= _stored_name_words(gone)
    if gone:
        SearchSpelling.objects.filter(word__in=gone).delete()
    added = new_words - old_words
    SearchSpelling.objects.bulk_create(
        [SearchSpelling(variant=variant, word=word) for variant, word in _spelling_rows(added)],
        batch_size=2000,
        ignore_conflicts=True,
    )


def _expected_index(batch_size: int):
    """The index computed afresh from the terms, in batches: (word rows, spelling rows)."""
    word_rows: set[tuple[int, int, str, int]] = set()
    name_words: set[str] = set()
    for term in Term.objects.only(*INDEXED_FIELDS).order_by("pk").iterator(batch_size):
        entries = term_entries(term)
        name_words |= _name_words(entries)
        word_rows |= {(term.pk, kind, text, weight) for (kind, text), weight in entries.items()}
    return word_rows, _spelling_rows(name_words)


@transaction.atomic
def rebuild_search_index(*, batch_size: int = 2000) -> tuple[int, int]:
    """Recompute the whole index from the terms; returns (word rows, spelling rows)."""
    SearchWord.objects.all().delete()
    SearchSpelling.objects.all().delete()
    ids = list(Term.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        index_terms(ids[start : start + batch_size])
    return SearchWord.objects.count(), SearchSpelling.objects.count()


def verify_search_index(*, batch_size: int = 2000, limit: int = 10) -> list[str]:
    """Differences between the stored index and a fresh computation (empty when exact)."""
    expected_words, expected_spellings = _expected_index(batch_size)
    stored_words = set(SearchWord.objects.values_list("term_id", "kind", "text", "weight"))
    stored_spellings = set(SearchSpelling.objects.values_list("variant", "word"))
    problems = [
        *(f"missing word row {row}" for row in sorted(expected_words - stored_words)),
        *(f"unexpected word row {row}" for row in sorted(stored_words - expected_words)),
        *(f"missing spelling {row}" for row in sorted(expected_spellings - stored_spellings)),
        *(f"unexpected spelling {row}" for row in sorted(stored_spellings - expected_spellings)),
    ]
    return problems[:limit]


def index_unindexed_terms() -> int:
    """Index the terms that have no index rows yet (after migrations); returns how many."""
    if SearchWord._meta.db_table not in connection.introspection.table_names():
        return 0  # migrated back to before the index existed
    ids = list(
        Term.objects.filter(~Exists(SearchWord.objects.filter(term=OuterRef("pk")))).values_list(
            "pk", flat=True
        )
    )
    if ids:
        index_terms(ids)
    return len(ids)


# Searching.


def clean_search_query(query: str) -> str:
    """The query with surrounding space removed; raises ValidationError when unusable."""
    if len(query) > MAX_QUERY_LENGTH:
        raise ValidationError(f"must be at most {MAX_QUERY_LENGTH} characters.", code="too_long")
    if any(unicodedata.category(char) in {"Cc", "Cs"} and not char.isspace() for char in query):
        raise ValidationError(
            "must not contain control characters or unpaired surrogates.", code="invalid"
        )
    query = " ".join(query.split())
    if not query:
        raise ValidationError("must contain at least one word.", code="blank")
    return query


@dataclass
class ParsedQuery:
    wanted: list[str]
    excluded: list[str]
    phrase: str


def parse_query(query: str) -> ParsedQuery:
    wanted: list[str] = []
    excluded: list[str] = []
    for chunk in query.split():
        if chunk.startswith("-") and len(chunk) > 1:
            excluded += words_of(chunk)
        else:
            wanted += words_of(chunk)
    phrase = " ".join(wanted)
    meaningful = [word for word in wanted if word not in STOP_WORDS]
    wanted = list(dict.fromkeys(meaningful or wanted))[:MAX_QUERY_WORDS]
    return ParsedQuery(wanted=wanted, excluded=excluded, phrase=phrase)


def _startswith(prefix: str) -> Q:
    if connection.vendor == "sqlite":
        # SQLite's LIKE ignores case and so cannot use the index; a range can (binary
        # collation: every text beginning with the prefix sorts between these bounds).
        return Q(text__gte=prefix, text__lt=prefix + "\U0010ffff")
    return Q(text__startswith=prefix)


def _held_by(terms) -> Exists:
    """Index rows of the terms of `terms` only: the caller's visible terms."""
    return Exists(terms.filter(pk=OuterRef("term_id")))


def _matching(word: str) -> Q:
    """Index texts that match a query word: itself, or a longer word it begins (one range
    of the text index either way)."""
    return _startswith(word) if len(word) >= MIN_PREFIX_WORD else Q(text=word)


def _matched_words(wanted: list[str], terms) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per query word: the words that match it exactly (itself), and those that match it
    loosely (longer words it begins, or name words one slip away), as far as `terms`,
    the caller's visible terms, hold them.

    A hidden term's words change nothing: a query word that no visible term matches gets
    the typo lookup whatever hidden terms hold, and only visible terms' name words are
    spellings. Texts held only by hidden terms may stay in the sets of a word that visible
    terms match too: the ranked query reads visible terms' rows only, so they match nothing.
    """
    condition = Q(text__in=wanted)
    for word in wanted:
        if len(word) >= MIN_PREFIX_WORD:
            condition |= _startswith(word)
    words = SearchWord.objects.filter(kind=SearchWord.Kind.WORD)
    # Whether a visible term matches each query word: subqueries that do not depend on the
    # row, so the database runs each once and stops at the first visible holder (checking
    # every matched row instead would visit all the visible terms for a common word).
    visible_words = words.filter(_held_by(terms))
    seen = {
        f"seen_{index}": Exists(visible_words.filter(_matching(word)))
        for index, word in enumerate(wanted)
    }
    rows = list(words.filter(condition).annotate(**seen).values_list("text", *seen).distinct())
    known = {text for text, *_ in rows}
    visible = dict(zip(wanted, rows[0][1:] if rows else [False] * len(wanted), strict=True))
    exact = {word: {word} & known if visible[word] else set() for word in wanted}
    loose = {
        word: {other for other in known if other != word and other.startswith(word)}
        if visible[word] and len(word) >= MIN_PREFIX_WORD
        else set()
        for word in wanted
    }
    unknown = [word for word in wanted if not visible[word] and len(word) >= MIN_TYPO_WORD]
    if unknown:
        variants = set().union(*(deletions(word) for word in unknown))
        # The spellings are shared by every holder of a word: the word counts only while
        # a visible term has it in a name, abbreviation, expansion or alias.
        visible_name_word = _name_word_rows().filter(_held_by(terms), text=OuterRef("word"))
        spellings = set(
            SearchSpelling.objects.filter(Exists(visible_name_word), variant__in=variants)
            .values_list("word", flat=True)
            .distinct()
        )
        for word in unknown:
            loose[word] = {other for other in spellings if within_one_slip(word, other)}
    return exact, loose


def _binary(expression):
    """Order by code points on every database (PostgreSQL would use its locale's rules)."""
    return Collate(expression, "BINARY" if connection.vendor == "sqlite" else "C")


def _ranked_hits(*, query: str, user):
    """(the ranked rows (term id, score, definition) of the terms visible to `user` that
    match `query`, the index words that matched), or None when no term can match."""
    parsed = parse_query(query)
    if not parsed.wanted:
        return None
    terms = Term.objects.visible_to(user)
    exact, loose = _matched_words(parsed.wanted, terms)
    if not all(exact[word] or loose[word] for word in parsed.wanted):
        return None
    matched = set().union(*exact.values(), *loose.values())
    word = SearchWord.Kind.WORD
    scores = {
        f"score_{index}": Max(
            Case(
                When(kind=word, text__in=exact[wanted], then=F("weight") * 2),
                When(kind=word, text__in=loose[wanted], then=F("weight")),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        for index, wanted in enumerate(parsed.wanted)
    }
    phrase_score = Max(
        Case(
            When(kind=SearchWord.Kind.PHRASE, then=Value(PHRASE_SCORE)),
            default=Value(0),
            output_field=IntegerField(),
        )
    )
    if parsed.excluded:
        terms = terms.exclude(
            Exists(
                SearchWord.objects.filter(term=OuterRef("pk"), kind=word, text__in=parsed.excluded)
            )
        )
    total = F("phrase_score")
    for name in scores:
        total = total + F(name)
    # From the index rows of the matched words (its text index), grouped per term: the
    # database never walks the terms that do not match.
    hits = (
        SearchWord.objects.filter(
            Q(kind=word, text__in=matched) | Q(kind=SearchWord.Kind.PHRASE, text=parsed.phrase),
            _held_by(terms),
        )
        .values("term_id")
        .annotate(**scores, phrase_score=phrase_score)
        .filter(**{f"{name}__gt": 0 for name in scores})
        .annotate(score=total)
        .order_by("-score", _binary(Lower("term__name")), "term_id")
        .values_list("term_id", "score", "term__definition")
    )
    return hits, matched


def search_terms(*, query: str, user, limit: int, offset: int = 0) -> list[SearchHit]:
    """Terms visible to `user` that match `query`, best first, from the `offset`-th hit;
    `query` must be cleaned.

    At most four queries whatever the number of terms: the words known to the index,
    the spellings of unknown words, the ranked hits, nothing per hit.
    """
    ranked = _ranked_hits(query=query, user=user)
    if ranked is None:
        return []
    hits, matched = ranked
    return [
        SearchHit(term_id=pk, rank=score / RANK_SCALE, highlight=highlight(definition, matched))
        for pk, score, definition in hits[offset : offset + limit]
    ]


def count_matches(*, query: str, user) -> int:
    """How many terms visible to `user` `search_terms` finds for `query` (cleaned)."""
    ranked = _ranked_hits(query=query, user=user)
    return 0 if ranked is None else ranked[0].count()


def highlight(text: str, words: set[str]) -> str:
    """Up to SNIPPET_WORDS words of `text` around its first matching word, HTML-escaped,
    with the words that matched in <mark> tags; any stored character is escaped as text."""
    chunks = text.split()
    first = next(
        (index for index, chunk in enumerate(chunks) if any(w in words for w in words_of(chunk))),
        0,
    )
    start = max(0, first - SNIPPET_WORDS // 3)
    window = " ".join(chunks[start : start + SNIPPET_WORDS])
    pieces = []
    position = 0
    for match, word in tokens(window):
        if word in words:
            pieces += [
                html.escape(window[position : match.start()]),
                f"<mark>{html.escape(match.group(0))}</mark>",
            ]
            position = match.end()
    pieces.append(html.escape(window[position:]))
    return "".join(pieces)


# A suggestion replaces each query word by the closest word of the visible terms' names,
# abbreviations and aliases, if one is at least this similar (difflib's ratio). Each
# word costs a pass over the vocabulary: longer queries get no suggestion.
SUGGESTION_CUTOFF = 0.75
MAX_SUGGESTED_WORDS = 6


def did_you_mean(*, query: str, user) -> str | None:
    """A spelling of `query` (cleaned) that finds terms visible to `user`, or None.

    Computed in Python over the visible names, abbreviations and aliases, so both
    database backends suggest the same.
    """
    words = query.lower().split()
    if len(words) > MAX_SUGGESTED_WORDS:
        return None
    vocabulary: set[str] = set()
    for row in Term.objects.visible_to(user).values_list("name", "abbreviation", "aliases"):
        vocabulary.update(re.findall(r"\w+", " ".join(row).lower()))
    suggested = [
        word
        if word in vocabulary
        else next(iter(difflib.get_close_matches(word, vocabulary, 1, SUGGESTION_CUTOFF)), word)
        for word in words
    ]
    if suggested == words:
        return None
    suggestion = " ".join(suggested)
    return suggestion if count_matches(query=suggestion, user=user) else None
