"""Every change the public can see writes one outbox event in the change's transaction."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from quizzes.models import Question, Quiz
from terms import outbox
from terms.models import ChangeEvent, Chapter, Status, Term
from terms.services import (
    content_delete,
    content_restore,
    content_save,
    content_set_status,
    term_set_related,
)


def events():
    return list(
        ChangeEvent.objects.order_by("pk").values_list("kind", "typename", "slug", "surrogate_keys")
    )


@pytest.fixture
def chapter(make_chapter):
    return make_chapter("basics")


def test_publishing_a_term_is_created_with_its_keys(chapter, make_term):
    """Publishing: CREATED with the term's, its chapter's, the lists' and its linkers' keys."""
    target = make_term(chapter, "LoRA", status=Status.DRAFT)
    linker = make_term(chapter, "Adapter", definition="Like LoRA, but more.")
    ChangeEvent.objects.all().delete()
    content_set_status(queryset=Term.objects.filter(pk=target.pk), status=Status.PUBLISHED)
    assert events() == [
        (
            "created",
            "Term",
            "lora",
            sorted(
                [f"term:{target.pk}", f"chapter:{chapter.pk}", "terms", "chapters",
                 f"term:{linker.pk}"]
            ),
        )
    ]  # fmt: skip


def test_each_change_kind(chapter, make_term):
    """Edit of published content is UPDATED, unpublish UNPUBLISHED, delete DELETED; a
    draft's edits and deletion are nothing the public saw."""
    term = make_term(chapter, "LoRA")
    draft = make_term(chapter, "Draft", status=Status.DRAFT)
    ChangeEvent.objects.all().delete()
    term.definition = "Low-rank adaptation."
    content_save(obj=term)
    draft.definition = "Still hidden."
    content_save(obj=draft)
    content_set_status(queryset=Term.objects.filter(pk=term.pk), status=Status.DRAFT)
    content_set_status(queryset=Term.objects.filter(pk=term.pk), status=Status.PUBLISHED)
    content_delete(queryset=Term.objects.filter(pk__in=[term.pk, draft.pk]))
    assert [(kind, slug) for kind, _, slug, _ in events()] == [
        ("updated", "lora"),
        ("unpublished", "lora"),
        ("created", "lora"),
        ("deleted", "lora"),
    ]


def test_a_new_published_object_is_created(chapter):
    """content_save of a new published term: one CREATED."""
    ChangeEvent.objects.all().delete()
    term = Term(chapter=chapter, name="New", slug="new", definition="D.", status=Status.PUBLISHED)
    content_save(obj=term)
    assert [(kind, slug) for kind, _, slug, _ in events()] == [("created", "new")]


def test_rolled_back_change_leaves_no_event(chapter, make_term):
    """A write that fails (or whose transaction rolls back) leaves no event."""
    term = make_term(chapter, "LoRA")
    ChangeEvent.objects.all().delete()

    def unpublish_then_fail():
        with transaction.atomic():
            content_set_status(queryset=Term.objects.filter(pk=term.pk), status=Status.DRAFT)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        unpublish_then_fail()
    with pytest.raises(ValidationError):
        term_set_related(term=term, related=[term])
    assert events() == []


def test_see_also_change_updates_both_ends(chapter, make_term):
    """A see-also link added: both terms' pages change; removing it again too."""
    one, two = make_term(chapter, "One"), make_term(chapter, "Two")
    ChangeEvent.objects.all().delete()
    term_set_related(term=one, related=[two])
    term_set_related(term=one, related=[two])  # no change, no event
    term_set_related(term=one, related=[])
    assert [(kind, slug) for kind, _, slug, _ in events()] == [
        ("updated", "one"),
        ("updated", "two"),
        ("updated", "one"),
        ("updated", "two"),
    ]


def test_chapter_publication_carries_its_terms_and_quizzes(make_chapter, make_term, make_quiz):
    """Publishing a chapter shows its live terms and quizzes: an event for each, none
    for its drafts."""
    chapter = make_chapter("later", status=Status.DRAFT)
    make_term(chapter, "Live")
    make_term(chapter, "Hidden", status=Status.DRAFT)
    make_quiz([("single", [True, False])], slug="q", chapter=chapter)
    ChangeEvent.objects.all().delete()
    content_set_status(queryset=Chapter.objects.filter(pk=chapter.pk), status=Status.PUBLISHED)
    assert sorted((kind, typename, slug) for kind, typename, slug, _ in events()) == [
        ("created", "Chapter", "later"),
        ("created", "Quiz", "q"),
        ("created", "Term", "live"),
    ]


def test_quiz_publish_goes_through_the_services(make_quiz):
    """Quizzes publish through the same services: CREATED with the quiz keys."""
    quiz = make_quiz([("single", [True, False])], slug="q", status=Status.DRAFT)
    ChangeEvent.objects.all().delete()
    content_set_status(queryset=Quiz.objects.filter(pk=quiz.pk), status=Status.PUBLISHED)
    keys = sorted([f"quiz:{quiz.pk}", "quizzes", "chapters"])
    assert events() == [("created", "Quiz", "q", keys)]
    assert Question.objects.filter(quiz=quiz).exists()


def test_restore_is_an_update(chapter, make_term):
    """Restoring a version of published content is UPDATED."""
    from reversion.models import Version

    term = make_term(chapter, "LoRA")
    content_save(obj=term)
    term.definition = "Changed."
    content_save(obj=term)
    ChangeEvent.objects.all().delete()
    version = Version.objects.get_for_object(term).last()
    content_restore(version=version)
    assert [(kind, slug) for kind, _, slug, _ in events()] == [("updated", "lora")]


def test_scheduled_go_live_and_expiry_are_recorded_once(chapter, make_term):
    """A go-live or expiry set before publication becomes an event when its time
    passes, once however often the worker looks."""
    now = timezone.now()
    term = make_term(
        chapter,
        "Soon",
        published_at=now - datetime.timedelta(hours=1),
        go_live_at=now + datetime.timedelta(minutes=1),
        expire_at=now + datetime.timedelta(minutes=2),
    )
    ChangeEvent.objects.all().delete()
    outbox.schedule_events_record(now=now)
    assert events() == []
    later = now + datetime.timedelta(seconds=90)
    Term.objects.filter(pk=term.pk).update(go_live_at=now - datetime.timedelta(seconds=30))
    outbox.schedule_events_record(now=later)
    outbox.schedule_events_record(now=later)
    assert [(kind, slug) for kind, _, slug, _ in events()] == [("created", "soon")]
    Term.objects.filter(pk=term.pk).update(expire_at=now - datetime.timedelta(seconds=10))
    outbox.schedule_events_record(now=now + datetime.timedelta(minutes=3))
    assert [(kind, slug) for kind, _, slug, _ in events()] == [
        ("created", "soon"),
        ("unpublished", "soon"),
    ]


def test_compaction_moves_the_horizon(chapter, make_term):
    """Compaction deletes dispatched events older than the retention, remembering the
    newest deleted id; undispatched ones stay."""
    make_term(chapter, "LoRA", status=Status.DRAFT)
    content_set_status(queryset=Term.objects.all(), status=Status.PUBLISHED)
    first = ChangeEvent.objects.get()
    ChangeEvent.objects.update(dispatched_at=timezone.now())
    content_set_status(queryset=Term.objects.all(), status=Status.DRAFT)
    assert outbox.change_events_compact(before=timezone.now()) == 1
    assert outbox.feed_horizon() == first.pk
    assert ChangeEvent.objects.count() == 1


def test_question_edit_in_the_admin_updates_its_published_quiz(make_quiz, admin_client):
    """A question's page is an edit of its quiz's public content: UPDATED for the quiz."""
    quiz = make_quiz([("single", [True, False])], slug="q")
    question = quiz.questions.get()
    ChangeEvent.objects.all().delete()
    data = {
        "quiz": quiz.pk,
        "position": 1,
        "prompt": "Reworded?",
        "kind": "single",
        "explanation": "Because.",
        "choices-TOTAL_FORMS": 2,
        "choices-INITIAL_FORMS": 2,
        "choices-MIN_NUM_FORMS": 0,
        "choices-MAX_NUM_FORMS": 1000,
    }
    for index, choice in enumerate(question.choices.order_by("position")):
        data |= {
            f"choices-{index}-id": choice.pk,
            f"choices-{index}-question": question.pk,
            f"choices-{index}-position": choice.position,
            f"choices-{index}-text": choice.text,
            f"choices-{index}-is_correct": "on" if choice.is_correct else "",
        }
    response = admin_client.post(f"/admin/quizzes/question/{question.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    assert [(kind, typename, slug) for kind, typename, slug, _ in events()] == [
        ("updated", "Quiz", "q")
    ]


def test_question_edit_on_the_quiz_page_updates_the_quiz_like_its_own_page(make_quiz, admin_client):
    """The quiz page edits the same questions: one UPDATED for the quiz, with the keys the
    question's own page gives; a draft quiz's questions change nothing the public sees."""
    from tests.quizzes.test_admin import quiz_change_data

    quiz = make_quiz([("single", [True, False]), ("single", [False, True])], slug="q")
    draft = make_quiz([("single", [True, False])], slug="d", status=Status.DRAFT)
    ChangeEvent.objects.all().delete()
    data = quiz_change_data(quiz, "published")
    data["questions-0-prompt"] = "Reworded?"
    data.pop("questions-1-choices-1-is_correct")
    data["questions-1-choices-0-is_correct"] = "on"
    response = admin_client.post(f"/admin/quizzes/quiz/{quiz.pk}/change/", data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert events() == [("updated", "Quiz", "q", sorted([f"quiz:{quiz.pk}", "quizzes"]))]
    ChangeEvent.objects.all().delete()
    data = quiz_change_data(draft, "draft")
    data["questions-0-prompt"] = "Reworded?"
    response = admin_client.post(f"/admin/quizzes/quiz/{draft.pk}/change/", data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert events() == []
