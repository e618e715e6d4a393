"""The admin's words: imperative action labels, messages that count, protected deletes
that explain and offer archiving, refused requests logged on one line, and what readers
see of each chapter and term."""

import logging

import pytest
from django.contrib import admin
from django.urls import reverse

from quizzes.services import attempt_submit
from terms.models import Chapter, Status, Term

TERM_LIST = reverse("admin:terms_term_changelist")


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def test_every_action_label_is_imperative():
    """Labels start with a verb in the imperative ("Publish selected terms"), never a
    past participle ("Published selected terms")."""
    labels = {
        str(description) % admin.utils.model_format_dict(model._meta)
        for model, model_admin in admin.site._registry.items()
        for _action, _name, description in model_admin._get_base_actions()
    }
    assert {
        "Publish selected terms", "Unpublish selected chapters", "Archive selected quizzes",
    } <= labels  # fmt: skip
    assert [label for label in labels if label.split()[0].endswith("ed")] == []


def test_messages_say_what_happened_and_to_how_many(editor_client, seed):
    """Publishing four terms of which one is already published: "3 terms published, 1
    already published"; one term: singular."""
    four = list(Term.objects.order_by("pk")[:4])
    Term.objects.filter(pk__in=[t.pk for t in four[1:]]).update(status=Status.DRAFT)
    data = {"action": "make_published", "_selected_action": [t.pk for t in four]}
    response = editor_client.post(TERM_LIST, data, follow=True)
    assert messages_of(response) == ["3 terms published, 1 already published."]
    data = {"action": "make_draft", "_selected_action": [four[0].pk]}
    response = editor_client.post(TERM_LIST, data, follow=True)
    assert messages_of(response) == ["1 term unpublished."]


def test_a_protected_term_explains_and_offers_to_archive(editor_client, seed_quiz):
    """A term that quiz questions test cannot be deleted: the page says why and its
    "Archive instead" button archives it."""
    term = Term.objects.filter(questions__isnull=False).first()
    page = editor_client.get(reverse("admin:terms_term_delete", args=[term.pk]))
    text = " ".join(page.content.decode().split())
    assert "This term cannot be deleted: the objects listed below still refer to it" in text
    assert 'value="Archive instead"' in text
    response = editor_client.post(
        TERM_LIST, {"action": "make_archived", "_selected_action": [term.pk], "index": 0},
        follow=True,
    )  # fmt: skip
    assert messages_of(response) == ["1 term archived."]
    term.refresh_from_db()
    assert term.status == Status.ARCHIVED


def test_deleting_selected_protected_chapters_offers_to_archive(editor_client, seed):
    """The bulk delete of a chapter with terms explains and offers the same."""
    response = editor_client.post(
        reverse("admin:terms_chapter_changelist"),
        {"action": "delete_selected", "_selected_action": [seed.pk]},
    )
    text = " ".join(response.content.decode().split())
    assert "The selected chapter cannot be deleted: the objects listed below" in text
    assert 'value="Archive instead"' in text
    assert Chapter.objects.filter(pk=seed.pk).exists()


def test_a_quiz_with_attempts_offers_to_archive(editor_client, seed_quiz):
    attempt_submit(quiz_id=seed_quiz.pk, answers=[], idempotency_key="k")
    page = editor_client.get(reverse("admin:quizzes_quiz_delete", args=[seed_quiz.pk]))
    assert "Archive the quiz instead" in " ".join(page.content.decode().split())


@pytest.mark.parametrize(
    ("path", "status"),
    [("/admin/no-such-page/", 404), ("/admin/terms/term/editorial-report/", 403)],
)
def test_refused_requests_log_one_line(client, django_user_model, caplog, path, status):
    """A refused request is one log line naming it, without a traceback."""
    user = django_user_model.objects.create_user("nobody", password="x", is_staff=True)
    client.force_login(user)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(path).status_code == status
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1
    handler = logging.getLogger().handlers[0]
    line = handler.format(records[0])
    assert path in line
    assert "\n" not in line
    assert "Traceback" not in line


def reader_view(client, url):
    page = client.get(url).content.decode()
    start = page.index('<div class="readonly">', page.index("Readers see")) + 22
    return " ".join(page[start : page.index("</div>", start)].split())


def test_editors_see_what_readers_see(editor_client, seed, settings):
    """The term and chapter pages say whether readers see them, and why not; with
    FRONTEND_URL set, a public one links to its live page."""
    lora = Term.objects.get(slug="lora")
    term_page = reverse("admin:terms_term_change", args=[lora.pk])
    chapter_page = reverse("admin:terms_chapter_change", args=[seed.pk])
    assert "Public: on the site and in the API." in reader_view(editor_client, term_page)
    assert "live-page-link" not in reader_view(editor_client, term_page)
    settings.FRONTEND_URL = "https://glossary.example.com"
    assert 'href="https://glossary.example.com/terms/lora"' in reader_view(editor_client, term_page)
    assert 'href="https://glossary.example.com/chapters/fine-tuning-alignment-terms"' in (
        reader_view(editor_client, chapter_page)
    )
    Chapter.objects.filter(pk=seed.pk).update(status=Status.DRAFT, published_at=None)
    assert reader_view(editor_client, term_page) == (
        '<strong class="reader-hidden">Hidden: its chapter “Fine-Tuning &amp; Alignment '
        "Terms” is a draft.</strong>"
    )
    Term.objects.filter(pk=lora.pk).update(status=Status.ARCHIVED)
    assert "Hidden: archived." in reader_view(editor_client, term_page)
    Term.objects.filter(pk=lora.pk).update(
        status=Status.PUBLISHED, go_live_at="2099-01-01T09:00:00Z"
    )
    assert "Scheduled: hidden until 2099-01-01 09:00 UTC, then public." in reader_view(
        editor_client, term_page
    )
