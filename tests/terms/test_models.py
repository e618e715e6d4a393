"""Database constraints and the visibility QuerySet methods of chapters and terms."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction

from terms.models import Chapter, Status, Term, TermRelation


@pytest.fixture
def chapter(make_chapter):
    return make_chapter("basics")


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"name": ""}, id="blank name"),
        pytest.param({"definition": ""}, id="blank definition"),
        pytest.param({"status": Status.PUBLISHED, "published_at": None}, id="published undated"),
    ],
)
def test_term_constraints_are_enforced_by_the_database(chapter, fields):
    """Rows that break a term invariant are rejected by the database itself."""
    values = {"name": "Epoch", "slug": "epoch", "definition": "One pass.", **fields}
    with pytest.raises(IntegrityError), transaction.atomic():
        Term.objects.create(chapter=chapter, **values)
    assert not Term.objects.exists()


def test_term_slug_is_unique(chapter, make_term):
    """Two terms cannot share a slug."""
    make_term(chapter, "Epoch")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_term(chapter, "Epoch again", slug="epoch")
    assert Term.objects.count() == 1


def test_chapter_constraints_are_enforced_by_the_database(chapter):
    """Chapters need a unique slug and a title."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Chapter.objects.create(title="Other", slug="basics")
    with pytest.raises(IntegrityError), transaction.atomic():
        Chapter.objects.create(title="", slug="untitled")
    assert list(Chapter.objects.values_list("slug", flat=True)) == ["basics"]


def test_term_cannot_be_related_to_itself(chapter, make_term):
    """The database refuses a see-also link from a term to itself."""
    term = make_term(chapter, "Epoch")
    with pytest.raises(IntegrityError), transaction.atomic():
        TermRelation.objects.create(from_term=term, to_term=term)
    assert not TermRelation.objects.exists()


def test_related_terms_are_symmetric(chapter, make_term):
    """Linking A to B makes B link back to A."""
    epoch, batch = make_term(chapter, "Epoch"), make_term(chapter, "Batch Size")
    epoch.related_terms.add(batch)
    assert list(batch.related_terms.all()) == [epoch]


@pytest.mark.parametrize(
    ("name", "initial"),
    [("LoRA", "L"), ("epoch", "E"), ("3D Parallelism", "#"), ("Évaluation", "É")],
)
def test_initial_files_terms_under_their_index_letter(chapter, make_term, name, initial):
    """The A-Z index letter is the upper-cased first character, digits under "#"."""
    make_term(chapter, name, slug="term")
    assert Term.objects.get().initial == initial
    assert list(Term.objects.with_initial(initial.lower())) == [Term.objects.get()]


def test_full_clean_stamps_published_at(chapter):
    """Publishing through a form fills in the publication date."""
    term = Term(chapter=chapter, name="Epoch", slug="epoch", definition="x", status="published")
    term.full_clean()
    assert term.published_at is not None


def test_published_terms_need_a_published_chapter(make_chapter, make_term):
    """Only published terms of published chapters are published()."""
    public, hidden = make_chapter("public"), make_chapter("hidden", status=Status.DRAFT)
    visible = make_term(public, "Visible")
    make_term(public, "Draft", status=Status.DRAFT)
    make_term(public, "Archived", status=Status.ARCHIVED)
    make_term(hidden, "In draft chapter")
    assert list(Term.objects.published()) == [visible]
    assert list(Chapter.objects.published()) == [public]


def test_visible_to_shows_everything_to_staff_only(
    make_chapter, make_term, editor, django_user_model
):
    """Staff see drafts and archived content; anonymous and non-staff users do not."""
    chapter = make_chapter("public")
    make_term(chapter, "Visible")
    make_term(chapter, "Draft", status=Status.DRAFT)
    member = django_user_model.objects.create_user("member", password="x")
    assert Term.objects.visible_to(AnonymousUser()).count() == 1
    assert Term.objects.visible_to(member).count() == 1
    assert Term.objects.visible_to(editor).count() == 2


def test_surrogate_keys_name_the_object_and_its_lists(chapter, make_term):
    """CDN cache tags and purges share these names; a rename would orphan cached pages."""
    term = make_term(chapter, "LoRA")
    assert term.surrogate_key == f"term:{term.pk}"
    assert chapter.surrogate_key == f"chapter:{chapter.pk}"
    assert (Term.list_surrogate_key(), Chapter.list_surrogate_key()) == ("terms", "chapters")
