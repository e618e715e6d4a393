"""Ranked term search: PostgreSQL full-text and trigram search, with a plain SQLite fallback.

Both backends rank an exact name or abbreviation match first ("lora" finds LoRA, then
QLoRA), start from `Term.objects.visible_to(user)`, and return at most `limit` hits with
a highlighted, HTML-escaped snippet of the definition.
"""

import difflib
import re
import unicodedata
from dataclasses import dataclass

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
    TrigramWordSimilarity,
)
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Case, Expression, F, FloatField, Q, Value, When
from django.db.models.functions import Greatest, Lower, NullIf
from django.utils.html import escape

from terms.models import Term, TermQuerySet

MAX_QUERY_LENGTH = 200
SEARCH_CONFIG = "english"
SNIPPET_WORDS = 35
# Typos are looked for in words of 3 letters or more, among each word's 20 closest
# spellings.
MIN_TYPO_WORD = 3
MAX_SPELLINGS = 20
# Markers that cannot occur in validated text, replaced by <mark> after escaping.
START, STOP = "\x02", "\x03"

# What PostgreSQL stores in terms_term.search_document (migration 0006); changing it
# needs a migration that regenerates the column.
TERM_SEARCH_VECTOR = (
    SearchVector("name", weight="A", config=SEARCH_CONFIG)
    + SearchVector("abbreviation", weight="A", config=SEARCH_CONFIG)
    + SearchVector("expansion", weight="B", config=SEARCH_CONFIG)
    + SearchVector("aliases", weight="B", config=SEARCH_CONFIG)
    + SearchVector("definition", weight="C", config=SEARCH_CONFIG)
)


class StoredSearchDocument(Expression):
    """terms_term.search_document: TERM_SEARCH_VECTOR as PostgreSQL stores it.

    A generated column that a PostgreSQL-only migration adds (the model cannot declare
    it: SQLite has no tsvector), so ranking reads each term's vector instead of
    recomputing it, and its GIN index serves the match.
    """

    output_field = SearchVectorField()

    def as_sql(self, compiler, connection):
        table = compiler.quote_name_unless_alias(compiler.query.base_table)
        return f"{table}.{connection.ops.quote_name('search_document')}", []


@dataclass
class SearchHit:
    term_id: int
    rank: float
    highlight: str


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


def search_terms(*, query: str, user, limit: int, offset: int = 0) -> list[SearchHit]:
    """Terms visible to `user` that match `query`, best first, from the `offset`-th hit;
    `query` must be cleaned."""
    terms = Term.objects.visible_to(user)
    # Looked up once through the indexes on UPPER(name) and UPPER(abbreviation), not
    # case-folded again for each of possibly thousands of matches.
    exact_matches = Term.objects.filter(Q(name__iexact=query) | Q(abbreviation__iexact=query))
    exact = Case(
        When(pk__in=exact_matches.values("pk"), then=Value(1.0)),
        default=Value(0.0),
        output_field=FloatField(),
    )
    if connection.vendor == "postgresql":
        hits = _postgres_search(terms, query, exact, limit, offset)
    else:
        hits = _fallback_search(terms, query, exact, limit, offset)
    return [
        SearchHit(term_id=term_id, rank=round(rank, 6), highlight=_mark(headline))
        for term_id, rank, headline in hits
    ]


def _text_query(query: str) -> SearchQuery:
    return SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)


def spelling_query(query: str) -> SearchQuery | None:
    """Names, abbreviations and aliases that hold a word within typo distance of one
    of the query's words, as a full-text query; None when no word is close.

    The words come from the vocabulary that PostgreSQL keeps (migration 0007), so
    they are letters and digits only, safe to write into a raw tsquery.
    """
    words = [word for word in query.lower().split() if len(word) >= MIN_TYPO_WORD]
    if not words:
        return None
    # Per word, the closest spellings first, straight from the GiST index.
    closest = (
        "(SELECT word FROM terms_search_word WHERE word %%> %s "
        f"ORDER BY word <->> %s LIMIT {MAX_SPELLINGS})"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            " UNION ".join([closest] * len(words)),
            [value for word in words for value in (word, word)],
        )
        spellings = sorted(word for (word,) in cursor.fetchall())
    if not spellings:
        return None
    # Weights A and B: the name, abbreviation, expansion and aliases, not the definition.
    return SearchQuery(
        " | ".join(f"{word}:AB" for word in spellings), search_type="raw", config=SEARCH_CONFIG
    )


def _postgres_matches(terms, query):
    matches = Q(search_vector=_text_query(query))
    if (spelled := spelling_query(query)) is not None:
        matches |= Q(search_vector=spelled)
    return terms.annotate(search_vector=StoredSearchDocument()).filter(matches)


def ranked_matches(terms, query, exact, limit, offset=0):
    """The best `limit` matches of `query` among `terms` after the first `offset`, with
    their search_rank."""
    text_query = _text_query(query)
    # Most terms have no abbreviation or aliases: NULL skips the similarity function
    # (GREATEST ignores NULLs; every term has a name).
    similarity = Greatest(
        TrigramWordSimilarity(query, "name"),
        TrigramWordSimilarity(query, NullIf("abbreviation", Value(""))),
        TrigramWordSimilarity(query, NullIf("aliases", Value(""))),
    )
    return (
        _postgres_matches(terms, query)
        .annotate(
            exact=exact,
            text_rank=SearchRank(F("search_vector"), text_query),
            similarity=similarity,
        )
        .annotate(search_rank=F("exact") * 10 + F("text_rank") + F("similarity"))
        .order_by("-search_rank", Lower("name"), "pk")[offset : offset + limit]
    )


def _postgres_search(terms, query, exact, limit, offset):
    ranked = list(
        ranked_matches(terms, query, exact, limit, offset).values_list("pk", "search_rank")
    )
    # Headlines are costly: make them for the best hits only, not for every match.
    headlines = dict(
        Term.objects.filter(pk__in=[pk for pk, _ in ranked])
        .annotate(
            headline=SearchHeadline(
                "definition",
                _text_query(query),
                config=SEARCH_CONFIG,
                start_sel=START,
                stop_sel=STOP,
                max_words=SNIPPET_WORDS,
                min_words=SNIPPET_WORDS // 2,
            )
        )
        .values_list("pk", "headline")
    )
    return [(pk, rank, headlines[pk]) for pk, rank in ranked]


def _fallback_matches(terms, query):
    matches_every_word = Q()
    for word in query.split():
        matches_every_word &= TermQuerySet.matching_q(word)
    return terms.filter(matches_every_word)


def _fallback_search(terms, query, exact, limit, offset):
    """SQLite: substring matching with a fixed scale of how good a match is."""
    words = query.split()
    closeness = Case(
        When(name__istartswith=query, then=Value(0.8)),
        When(name__icontains=query, then=Value(0.6)),
        When(
            Q(abbreviation__icontains=query)
            | Q(expansion__icontains=query)
            | Q(aliases__icontains=query),
            then=Value(0.5),
        ),
        default=Value(0.2),
        output_field=FloatField(),
    )
    hits = (
        _fallback_matches(terms, query)
        .annotate(search_rank=exact * 10 + closeness)
        .only("pk", "definition")
        .order_by("-search_rank", Lower("name"), "pk")[offset : offset + limit]
    )
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    return [(term.pk, term.search_rank, _snippet(term.definition, pattern)) for term in hits]


def _snippet(text: str, pattern: re.Pattern) -> str:
    """Up to SNIPPET_WORDS words of `text` around the first match, matches marked."""
    words = text.split()
    first = next((index for index, word in enumerate(words) if pattern.search(word)), 0)
    start = max(0, first - SNIPPET_WORDS // 3)
    window = " ".join(words[start : start + SNIPPET_WORDS])
    return pattern.sub(lambda match: f"{START}{match.group(0)}{STOP}", window)


def _mark(headline: str) -> str:
    return escape(headline).replace(START, "<mark>").replace(STOP, "</mark>")


def count_matches(*, query: str, user) -> int:
    """How many terms visible to `user` `search_terms` finds for `query` (cleaned)."""
    terms = Term.objects.visible_to(user)
    if connection.vendor == "postgresql":
        return _postgres_matches(terms, query).count()
    return _fallback_matches(terms, query).count()


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
