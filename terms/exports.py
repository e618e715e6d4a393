"""The published glossary in standard formats, and the schema.org JSON-LD of one term.

Every export reads published content only (whoever asks) and streams: terms are read
in chunks with their see-also and text links, and each is written as it comes.

- `jsonld`: schema.org `DefinedTermSet`s and `DefinedTerm`s in one `@graph`, with an
  inline context (no network needed to process it); see-also as `skos:related`, text
  links as `mentions`.
- `ttl`: SKOS in Turtle: a `skos:ConceptScheme` per chapter, a `skos:Concept` per term
  with `skos:prefLabel`, `skos:altLabel` (abbreviation, expansion, aliases),
  `skos:definition`, `skos:related` (see-also) and `dct:references` (text links).
- `tbx`: TBX-Basic (ISO 30042, TBX v3): a `conceptEntry` per term.
- `csv`: the seed's columns (name, abbreviation, expansion, definition), then slug,
  chapter, aliases (one per line), see_also and mentions (slugs separated by spaces), url.
"""

import csv
import json
from collections.abc import Iterator
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from django.db.models import Prefetch
from django.db.models.functions import Lower

from glossary_backend.database import streaming
from terms.linking import chapter_url, term_url
from terms.models import Chapter, Term

FORMATS = {
    "jsonld": "application/ld+json",
    "ttl": "text/turtle; charset=utf-8",
    "tbx": "application/x-tbx+xml; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
CHUNK_SIZE = 500
SCHEMA_ORG = "https://schema.org"
SKOS = "http://www.w3.org/2004/02/skos/core#"


def published_chapters(chapter_slug: str | None = None):
    chapters = Chapter.objects.published()
    if chapter_slug is not None:
        chapters = chapters.filter(slug=chapter_slug)
    return chapters.order_by(*Chapter._meta.ordering)


def published_terms(chapter_slug: str | None = None) -> Iterator[Term]:
    """Published terms with their published see-also (`published_related`) and text-link
    targets (`published_mentions`), chapter by chapter, A-Z."""
    linked = Term.objects.published().only("pk", "slug", "name").order_by(Lower("name"), "pk")
    terms = (
        Term.objects.published()
        .select_related("chapter")
        .prefetch_related(
            Prefetch("related_terms", queryset=linked, to_attr="published_related"),
            Prefetch("mentions", queryset=linked, to_attr="published_mentions"),
        )
        .order_by("chapter__position", "chapter__title", "chapter_id", Lower("name"), "pk")
    )
    if chapter_slug is not None:
        terms = terms.filter(chapter__slug=chapter_slug)
    with streaming():
        yield from terms.iterator(chunk_size=CHUNK_SIZE)


def alternate_names(term: Term) -> list[str]:
    """Abbreviation, expansion and aliases, without repeats or the name itself."""
    names = [term.abbreviation, term.expansion, *term.alias_list]
    seen = {term.name}
    result = []
    for name in names:
        if name and name not in seen:
            seen.add(name)
            result.append(name)
    return result


def chapter_json_ld(chapter: Chapter) -> dict:
    url = chapter_url(chapter.slug)
    document = {"@type": "DefinedTermSet", "@id": url, "url": url, "name": chapter.title}
    if chapter.description:
        document["description"] = chapter.description
    return document


def term_json_ld(term: Term, chapter: Chapter) -> dict:
    url = term_url(term.slug)
    document = {
        "@type": "DefinedTerm",
        "@id": url,
        "url": url,
        "name": term.name,
        "termCode": term.slug,
        "description": term.definition,
        "inDefinedTermSet": {
            "@type": "DefinedTermSet",
            "@id": chapter_url(chapter.slug),
            "name": chapter.title,
        },
    }
    if names := alternate_names(term):
        document["alternateName"] = names
    return document


def page_json_ld(document: dict) -> dict:
    """A document to embed in a page (`<script type="application/ld+json">`)."""
    return {"@context": SCHEMA_ORG, **document}


def _json_ld(chapters, terms) -> Iterator[str]:
    context = {"@vocab": f"{SCHEMA_ORG}/", "skos": SKOS}
    yield '{"@context": ' + json.dumps(context) + ', "@graph": ['
    separator = "\n"
    for chapter in chapters:
        yield separator + json.dumps(chapter_json_ld(chapter), ensure_ascii=False)
        separator = ",\n"
    for term in terms:
        document = term_json_ld(term, term.chapter)
        document["inDefinedTermSet"] = {"@id": document["inDefinedTermSet"]["@id"]}
        if term.published_related:
            document["skos:related"] = [{"@id": term_url(t.slug)} for t in term.published_related]
        if term.published_mentions:
            document["mentions"] = [{"@id": term_url(t.slug)} for t in term.published_mentions]
        yield separator + json.dumps(document, ensure_ascii=False)
        separator = ",\n"
    yield "\n]}\n"


TURTLE_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def turtle_literal(text: str) -> str:
    escaped = "".join(
        TURTLE_ESCAPES.get(char) or (f"\\u{ord(char):04X}" if ord(char) < 0x20 else char)
        for char in text
    )
    return f'"{escaped}"@en'


def _turtle(chapters, terms) -> Iterator[str]:
    yield f"@prefix skos: <{SKOS}> .\n@prefix dct: <http://purl.org/dc/terms/> .\n"
    for chapter in chapters:
        lines = [f"<{chapter_url(chapter.slug)}> a skos:ConceptScheme"]
        lines.append(f"skos:prefLabel {turtle_literal(chapter.title)}")
        if chapter.description:
            lines.append(f"dct:description {turtle_literal(chapter.description)}")
        yield "\n" + " ;\n    ".join(lines) + " .\n"
    for term in terms:
        lines = [
            f"<{term_url(term.slug)}> a skos:Concept",
            f"skos:inScheme <{chapter_url(term.chapter.slug)}>",
            f"skos:prefLabel {turtle_literal(term.name)}",
            f'skos:notation "{term.slug}"',
            f"skos:definition {turtle_literal(term.definition)}",
        ]
        lines += [f"skos:altLabel {turtle_literal(name)}" for name in alternate_names(term)]
        lines += [f"skos:related <{term_url(t.slug)}>" for t in term.published_related]
        lines += [f"dct:references <{term_url(t.slug)}>" for t in term.published_mentions]
        yield "\n" + " ;\n    ".join(lines) + " .\n"


def _tbx_term(text: str, term_type: str) -> str:
    return (
        f"<termSec><term>{xml_escape(text)}</term>"
        f'<termNote type="termType">{term_type}</termNote></termSec>'
    )


def _tbx(chapters, terms) -> Iterator[str]:
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<tbx type="TBX-Basic" style="dca" xml:lang="en" xmlns="urn:iso:std:iso:30042:ed-2">\n'
        "<tbxHeader><fileDesc><sourceDesc><p>"
        + xml_escape(", ".join(chapter.title for chapter in chapters))
        + "</p></sourceDesc></fileDesc></tbxHeader>\n<text><body>\n"
    )
    for term in terms:
        parts = [
            f"<conceptEntry id={quoteattr(term.slug)}>",
            f'<descrip type="subjectField">{xml_escape(term.chapter.title)}</descrip>',
        ]
        parts += [
            f'<ref type="crossReference" target={quoteattr(t.slug)}>{xml_escape(t.name)}</ref>'
            for t in term.published_related
        ]
        parts.append('<langSec xml:lang="en">')
        parts.append(f'<descrip type="definition">{xml_escape(term.definition)}</descrip>')
        parts.append(_tbx_term(term.name, "fullForm"))
        if term.abbreviation and term.abbreviation != term.name:
            parts.append(_tbx_term(term.abbreviation, "abbreviation"))
        if term.expansion and term.expansion != term.name:
            parts.append(_tbx_term(term.expansion, "fullForm"))
        parts += [_tbx_term(alias, "variant") for alias in term.alias_list]
        parts.append("</langSec></conceptEntry>\n")
        yield "".join(parts)
    yield "</body></text>\n</tbx>\n"


CSV_COLUMNS = [
    "name", "abbreviation", "expansion", "definition",
    "slug", "chapter", "aliases", "see_also", "mentions", "url",
]  # fmt: skip


class _Line:
    """A file-like target for csv.writer that hands back each line."""

    def write(self, line: str) -> str:
        return line


def _csv(chapters, terms) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    for term in terms:
        yield writer.writerow(
            [
                term.name, term.abbreviation, term.expansion, term.definition,
                term.slug, term.chapter.slug, "\n".join(term.alias_list),
                " ".join(t.slug for t in term.published_related),
                " ".join(t.slug for t in term.published_mentions),
                term_url(term.slug),
            ]
        )  # fmt: skip


WRITERS = {"jsonld": _json_ld, "ttl": _turtle, "tbx": _tbx, "csv": _csv}


def glossary_export(fmt: str, chapter_slug: str | None = None) -> Iterator[str]:
    """The published glossary (or one published chapter of it) in `fmt`, piece by piece."""
    chapters = list(published_chapters(chapter_slug))
    return WRITERS[fmt](chapters, published_terms(chapter_slug))
