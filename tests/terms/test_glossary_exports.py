"""Public glossary downloads, each read back with a real parser: every term and link survives."""

import csv
import io
import xml.etree.ElementTree as ET

import pytest
from django.core.management import call_command
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, SKOS

from terms.models import Status, Term, TermMention, TermRelation

SCHEMA = Namespace("https://schema.org/")
DCT = Namespace("http://purl.org/dc/terms/")
TBX = "{urn:iso:std:iso:30042:ed-2}"
BASE = "https://glossary.example.com/terms/"


def download(client, fmt, **params):
    response = client.get(f"/exports/glossary.{fmt}", params)
    assert response.status_code == 200, response.content
    assert response.streaming
    assert response["Cache-Control"] == "public, max-age=300"
    return b"".join(response.streaming_content).decode()


@pytest.fixture
def glossary(seed, make_term):
    """The seed with one hidden term that a published term mentions and lists as see-also."""
    hidden = make_term(seed, "Zeta Draft", status=Status.DRAFT, definition="Hidden.")
    Term.objects.filter(slug="lora").update(aliases="Low-rank adapters\nLoRA adapters")
    make_term(seed, "Zeta Notes", definition="About Zeta Draft and RLHF.")
    Term.objects.get(slug="zeta-notes").related_terms.add(hidden)
    return seed


def published_expectations():
    terms = {term.slug: term for term in Term.objects.published()}
    see_also = {
        (row.from_term.slug, row.to_term.slug)
        for row in TermRelation.objects.select_related("from_term", "to_term")
        if row.from_term.slug in terms and row.to_term.slug in terms
    }
    mentions = {
        (row.source.slug, row.target.slug)
        for row in TermMention.objects.select_related("source", "target")
        if row.source.slug in terms and row.target.slug in terms
    }
    return terms, see_also, mentions


def test_turtle_is_skos_with_every_term_and_link(glossary, client):
    """rdflib reads every concept, its labels and definition, see-also and text links."""
    graph = Graph().parse(data=download(client, "ttl"), format="turtle")
    terms, see_also, mentions = published_expectations()
    concepts = {str(iri).removeprefix(BASE) for iri in graph.subjects(RDF.type, SKOS.Concept)}
    assert concepts == set(terms)
    for slug, term in terms.items():
        iri = URIRef(BASE + slug)
        assert graph.value(iri, SKOS.prefLabel) == Literal(term.name, lang="en")
        assert graph.value(iri, SKOS.definition) == Literal(term.definition, lang="en")
    lora = set(graph.objects(URIRef(BASE + "lora"), SKOS.altLabel))
    assert lora == {
        Literal(name, lang="en")
        for name in ["Low-Rank Adaptation", "Low-rank adapters", "LoRA adapters"]
    }
    related = {
        (str(s).removeprefix(BASE), str(o).removeprefix(BASE))
        for s, o in graph.subject_objects(SKOS.related)
    }
    references = {
        (str(s).removeprefix(BASE), str(o).removeprefix(BASE))
        for s, o in graph.subject_objects(DCT.references)
    }
    assert related == see_also
    assert references == mentions
    assert ("zeta-notes", "rlhf") in references
    assert len(set(graph.subjects(RDF.type, SKOS.ConceptScheme))) == 1


def test_json_ld_is_schema_org_with_every_term_and_link(glossary, client):
    """rdflib's JSON-LD processor reads the same terms and links (no network needed)."""
    graph = Graph().parse(data=download(client, "jsonld"), format="json-ld")
    terms, see_also, mentions = published_expectations()
    defined = {str(iri).removeprefix(BASE) for iri in graph.subjects(RDF.type, SCHEMA.DefinedTerm)}
    assert defined == set(terms)
    for slug, term in terms.items():
        assert graph.value(URIRef(BASE + slug), SCHEMA.name) == Literal(term.name)
    assert {
        (str(s).removeprefix(BASE), str(o).removeprefix(BASE))
        for s, o in graph.subject_objects(SKOS.related)
    } == see_also
    assert {
        (str(s).removeprefix(BASE), str(o).removeprefix(BASE))
        for s, o in graph.subject_objects(SCHEMA.mentions)
    } == mentions


def test_tbx_is_well_formed_with_every_term(glossary, client):
    """An XML parser reads a conceptEntry per published term, its definition and see-also."""
    root = ET.fromstring(download(client, "tbx").encode())
    assert root.tag == f"{TBX}tbx"
    assert root.get("type") == "TBX-Basic"
    terms, see_also, _ = published_expectations()
    entries = {entry.get("id"): entry for entry in root.iter(f"{TBX}conceptEntry")}
    assert set(entries) == set(terms)
    for slug, term in terms.items():
        entry = entries[slug]
        definition = entry.find(f"{TBX}langSec/{TBX}descrip[@type='definition']")
        assert definition.text == term.definition
        assert entry.find(f"{TBX}langSec/{TBX}termSec/{TBX}term").text == term.name
    assert {
        (slug, ref.get("target"))
        for slug, entry in entries.items()
        for ref in entry.findall(f"{TBX}ref[@type='crossReference']")
    } == see_also


def test_csv_has_the_seed_columns_and_every_link(glossary, client):
    """The csv module reads one row per term; see-also and mentions are slugs."""
    rows = list(csv.DictReader(io.StringIO(download(client, "csv"))))
    terms, see_also, mentions = published_expectations()
    assert list(rows[0])[:4] == ["name", "abbreviation", "expansion", "definition"]
    assert {row["slug"]: row["definition"] for row in rows} == {
        slug: term.definition for slug, term in terms.items()
    }
    by_slug = {row["slug"]: row for row in rows}
    assert by_slug["lora"]["aliases"] == "Low-rank adapters\nLoRA adapters"
    assert {(row["slug"], other) for row in rows for other in row["see_also"].split()} == see_also
    assert {(row["slug"], other) for row in rows for other in row["mentions"].split()} == mentions


def test_one_chapter_only(glossary, make_chapter, make_term, client):
    """?chapter= limits the export to that chapter."""
    make_term(make_chapter("other"), "Elsewhere")
    everything = list(csv.DictReader(io.StringIO(download(client, "csv"))))
    assert "elsewhere" in {row["slug"] for row in everything}
    one = download(client, "csv", chapter="fine-tuning-alignment-terms")
    assert "elsewhere" not in {row["slug"] for row in csv.DictReader(io.StringIO(one))}


NO_CHAPTER = {
    "message": "chapter: No published chapter has this slug.",
    "extensions": {"code": "NOT_FOUND", "argument": "chapter"},
}


@pytest.mark.parametrize(
    ("url", "status", "error"),
    [
        (
            "/exports/glossary.pdf",
            404,
            {
                "message": "No such format; the glossary downloads as jsonld, ttl, tbx, csv.",
                "extensions": {"code": "NOT_FOUND"},
            },
        ),
        ("/exports/glossary.csv?chapter=no-such-chapter", 404, NO_CHAPTER),
        ("/exports/glossary.csv?chapter=hidden", 404, NO_CHAPTER),
        (
            "/exports/glossary.csv?quiz=x",
            400,
            {
                "message": "quiz: Unknown parameter.",
                "extensions": {"code": "BAD_USER_INPUT", "argument": "quiz"},
            },
        ),
    ],
)
def test_bad_requests_are_client_errors(glossary, make_chapter, client, url, status, error):
    """Unknown format, chapter (or a draft one) or parameter: 4xx with a coded JSON error in
    the API's shape, never the staff export."""
    make_chapter("hidden", status=Status.DRAFT)
    response = client.get(url)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"errors": [error]}


def test_command_writes_the_same_file(glossary, client, tmp_path):
    """export_glossary --format ttl --output FILE matches the download."""
    path = tmp_path / "glossary.ttl"
    call_command("export_glossary", "--format", "ttl", "--output", str(path))
    assert path.read_text() == download(client, "ttl")
