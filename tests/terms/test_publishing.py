"""One publishing rule for every path: the form, the bulk actions and the services."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from terms.models import MAX_RELATED_TERMS, Status, Term, TermRelation
from terms.services import content_save, content_set_status, term_set_related

EARLIER = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def term_form(term, **changes):
    data = {
        "name": term.name, "slug": term.slug, "chapter": term.chapter_id,
        "status": term.status, "definition": term.definition, "explanation": "",
        "abbreviation": "", "expansion": "", "aliases": "",
        "see_also": [t.pk for t in term.related_terms.all()],
    }  # fmt: skip
    return data | changes


@pytest.mark.parametrize(
    ("before", "after", "date"),
    [
        (Status.PUBLISHED, Status.DRAFT, None),
        (Status.PUBLISHED, Status.ARCHIVED, EARLIER),
        (Status.ARCHIVED, Status.PUBLISHED, "now"),
        (Status.DRAFT, Status.PUBLISHED, "now"),
        (Status.PUBLISHED, Status.PUBLISHED, EARLIER),
    ],
)
@pytest.mark.parametrize("path", ["form", "action", "service"])
def test_published_at_follows_one_rule(
    editor_client, make_chapter, make_term, path, before, after, date
):
    """Back to draft clears the date, archiving keeps it, (re)publishing stamps it, staying
    published keeps it: alike from the change form, the bulk actions and content_save."""
    term = make_term(make_chapter(), "Epoch", status=before, published_at=EARLIER)
    if path == "form":
        url = reverse("admin:terms_term_change", args=[term.pk])
        response = editor_client.post(url, term_form(term, status=after))
        assert response.status_code == 302
    elif path == "action":
        action = {Status.PUBLISHED: "make_published", Status.DRAFT: "make_draft"}.get(
            after, "make_archived"
        )
        editor_client.post(
            reverse("admin:terms_term_changelist"),
            {"action": action, "_selected_action": [term.pk]},
        )
    else:
        term.status = after
        content_save(obj=term)
    term.refresh_from_db()
    assert term.status == after
    if date == "now":
        assert term.published_at > EARLIER
    else:
        assert term.published_at == date


def test_the_form_records_who_changed_a_term(editor_client, editor, make_chapter, make_term):
    """created_by and updated_by are stamped by the service the form goes through."""
    term = make_term(make_chapter(), "Epoch")
    url = reverse("admin:terms_term_change", args=[term.pk])
    editor_client.post(url, term_form(term, definition="One pass over the data."))
    term.refresh_from_db()
    assert (term.definition, term.updated_by) == ("One pass over the data.", editor)


@pytest.fixture
def crowded(make_chapter, make_term):
    """A hub term with the most see-also links a term may have, and one term more."""
    chapter = make_chapter()
    hub = make_term(chapter, "Hub")
    spokes = [make_term(chapter, f"Spoke {n:02}") for n in range(MAX_RELATED_TERMS)]
    term_set_related(term=hub, related=spokes)
    return hub, make_term(chapter, "Newcomer")


def test_see_also_is_bounded_on_both_sides(crowded):
    """Linking to a term whose list is full is refused: the link would count there too."""
    hub, newcomer = crowded
    with pytest.raises(ValidationError) as refused:
        term_set_related(term=newcomer, related=[hub])
    assert refused.value.messages == [
        f"Hub already has {MAX_RELATED_TERMS} see-also terms; remove one there first."
    ]
    assert not TermRelation.objects.filter(from_term=newcomer).exists()
    assert hub.related_terms.count() == MAX_RELATED_TERMS


def test_the_form_says_why_see_also_is_refused(editor_client, crowded):
    """The term form shows the same rule as a field error and saves nothing."""
    hub, newcomer = crowded
    url = reverse("admin:terms_term_change", args=[newcomer.pk])
    response = editor_client.post(url, term_form(newcomer, see_also=[hub.pk]))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["see_also"] == [
        f"Hub already has {MAX_RELATED_TERMS} see-also terms; remove one there first."
    ]
    assert newcomer.related_terms.count() == 0


def test_bulk_status_change_of_terms_counts_what_changed(make_chapter, make_term):
    """Objects already in the status are left alone and not counted."""
    chapter = make_chapter()
    make_term(chapter, "A")
    make_term(chapter, "B", status=Status.DRAFT)
    assert content_set_status(queryset=Term.objects.all(), status=Status.PUBLISHED) == 1
    assert set(Term.objects.values_list("status", flat=True)) == {Status.PUBLISHED}
