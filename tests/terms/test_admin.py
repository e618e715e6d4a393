"""The editors' admin for chapters and terms, through real requests."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from terms.models import Status, Term

TERM_LIST = reverse("admin:terms_term_changelist")
CHAPTER_LIST = reverse("admin:terms_chapter_changelist")


def listed_names(response):
    return [term.name for term in response.context["cl"].result_list]


def test_editor_sees_the_term_list_with_its_columns(editor_client, seed):
    """The term list shows name, abbreviation, chapter, status and update time."""
    response = editor_client.get(TERM_LIST)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 31
    header = [column["text"] for column in response.context["result_headers"]]
    assert [text.lower() for text in header[1:]] == [
        "name",
        "abbreviation",
        "chapter",
        "status",
        "schedule",
        "updated",
    ]
    assert b"Fine-Tuning &amp; Alignment Terms" in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("qlora", ["QLoRA"]),
        ("trainable adapter layers", ["Adapter Tuning"]),
        ("soft prompt", ["Prompt Tuning"]),
    ],
)
def test_term_search_covers_name_abbreviation_aliases_definition(
    editor_client, seed, query, expected
):
    """Admin search looks in names, abbreviations, aliases and definitions."""
    response = editor_client.get(TERM_LIST, {"q": query})
    assert listed_names(response) == expected


def test_term_search_finds_aliases(editor_client, seed):
    """An alias typed by an editor finds its term."""
    Term.objects.filter(slug="lora").update(aliases="low rank adapters\nLoRA adapters")
    response = editor_client.get(TERM_LIST, {"q": "low rank adapters"})
    assert listed_names(response) == ["LoRA"]


def test_term_list_filters_by_status_and_chapter(editor_client, seed, make_chapter, make_term):
    """Status and chapter filters narrow the list."""
    other = make_chapter("other")
    make_term(other, "Agent", status=Status.DRAFT)
    drafts = editor_client.get(TERM_LIST, {"status__exact": "draft"})
    assert listed_names(drafts) == ["Agent"]
    in_seed = editor_client.get(TERM_LIST, {"chapter__id__exact": seed.pk})
    assert in_seed.context["cl"].result_count == 31


def test_bulk_actions_set_status_and_published_at(editor_client, editor, seed):
    """Unpublish clears published_at, publish stamps it anew, archive keeps it."""
    lora = Term.objects.get(slug="lora")
    editor_client.post(TERM_LIST, {"action": "make_draft", "_selected_action": [lora.pk]})
    lora.refresh_from_db()
    assert (lora.status, lora.published_at, lora.updated_by) == (Status.DRAFT, None, editor)

    editor_client.post(TERM_LIST, {"action": "make_published", "_selected_action": [lora.pk]})
    lora.refresh_from_db()
    assert lora.status == Status.PUBLISHED
    assert lora.published_at == lora.updated_at

    published_at = lora.published_at
    response = editor_client.post(
        TERM_LIST, {"action": "make_archived", "_selected_action": [lora.pk]}, follow=True
    )
    lora.refresh_from_db()
    assert (lora.status, lora.published_at) == (Status.ARCHIVED, published_at)
    assert "1 term archived." in [str(m) for m in response.context["messages"]]


def test_publishing_twice_keeps_the_first_date(editor_client, seed):
    """Publishing already published terms changes nothing."""
    before = dict(Term.objects.values_list("pk", "published_at"))
    response = editor_client.post(
        TERM_LIST, {"action": "make_published", "_selected_action": list(before)}, follow=True
    )
    assert dict(Term.objects.values_list("pk", "published_at")) == before
    notes = [str(m) for m in response.context["messages"]]
    assert "0 terms published, 31 already published." in notes


def test_editor_creates_a_term_with_related_terms(editor_client, editor, seed):
    """The add form saves the term, its author and symmetric see-also links."""
    lora, qlora = Term.objects.get(slug="lora"), Term.objects.get(slug="qlora")
    response = editor_client.post(
        reverse("admin:terms_term_add"),
        {
            "name": "DoRA",
            "slug": "dora",
            "chapter": seed.pk,
            "status": "draft",
            "definition": "Weight-Decomposed Low-Rank Adaptation.",
            "see_also": [lora.pk, qlora.pk],
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    dora = Term.objects.get(slug="dora")
    assert (dora.created_by, dora.updated_by, dora.published_at) == (editor, editor, None)
    assert set(dora.related_terms.all()) == {lora, qlora}
    assert dora in lora.related_terms.all()


def test_term_form_rejects_a_self_link(editor_client, seed):
    """Linking a term to itself is a form error, not a database error."""
    lora = Term.objects.get(slug="lora")
    response = editor_client.post(
        reverse("admin:terms_term_change", args=[lora.pk]),
        {
            "name": "LoRA",
            "slug": "lora",
            "chapter": seed.pk,
            "status": "published",
            "definition": lora.definition,
            "see_also": [lora.pk],
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["see_also"] == [
        "A term cannot be related to itself."
    ]


def test_term_form_autocomplete_for_related_terms(editor_client, seed):
    """The see-also widget's autocomplete endpoint answers for editors."""
    response = editor_client.get(
        reverse("admin:autocomplete"),
        {"term": "lora", "app_label": "terms", "model_name": "term", "field_name": "related_terms"},
    )
    assert response.status_code == 200
    assert [item["text"] for item in response.json()["results"]] == ["LoRA", "QLoRA"]


def test_chapter_list_counts_terms_in_one_query(editor_client, seed, make_chapter, make_term):
    """Published and draft counts come from one annotated query, whatever the row count."""

    def list_queries():
        with CaptureQueriesContext(connection) as queries:
            response = editor_client.get(CHAPTER_LIST)
        return response, len(queries)

    _, queries_for_one_chapter = list_queries()
    for number in range(5):
        chapter = make_chapter(f"chapter-{number}")
        make_term(chapter, f"Term {number}", status=Status.DRAFT)
    response, queries_for_six_chapters = list_queries()

    assert queries_for_six_chapters == queries_for_one_chapter
    rows = {
        chapter.slug: (chapter.published_terms, chapter.draft_terms)
        for chapter in response.context["cl"].result_list
    }
    assert rows["fine-tuning-alignment-terms"] == (31, 0)
    assert rows["chapter-0"] == (0, 1)
    assert f'?chapter__id__exact={seed.pk}"'.encode() in response.content


def test_editor_cannot_manage_users(editor_client):
    """Editors curate content but are refused the user admin."""
    assert editor_client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert editor_client.get(reverse("admin:auth_group_changelist")).status_code == 403


def test_anonymous_is_sent_to_login(client, seed):
    """The admin is closed to anonymous visitors."""
    response = client.get(TERM_LIST)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
