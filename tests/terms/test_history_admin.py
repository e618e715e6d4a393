"""The editor's safety net in the admin: history with diffs, restore, no lost updates,
scheduling, the audit log. Real admin pages through the test client."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from quizzes.models import Question, Quiz
from terms import revisions
from terms.models import AuditEntry, Chapter, Status, Term
from terms.services import content_save

HOUR = datetime.timedelta(hours=1)


def term_form(term, **changes):
    data = {
        "name": term.name, "slug": term.slug, "chapter": term.chapter_id,
        "status": term.status, "definition": term.definition, "explanation": term.explanation,
        "abbreviation": term.abbreviation, "expansion": term.expansion, "aliases": term.aliases,
        "see_also": [t.pk for t in term.related_terms.all()],
        "based_on": revisions.latest_version_id(term),
    }  # fmt: skip
    return data | changes


def versions_of(obj):
    return list(Version.objects.get_for_object(obj).select_related("revision__user"))


def change(client, term, **changes):
    return client.post(
        reverse("admin:terms_term_change", args=[term.pk]), term_form(term, **changes)
    )


def test_a_see_also_edit_is_shown_as_a_diff_and_restored(editor_client, editor, seed):
    """The form's see-also change is a revision with its path and author; the history
    page shows it line by line; restoring the previous version brings the links back in
    both directions, as a new version."""
    lora, dpo = Term.objects.get(slug="lora"), Term.objects.get(slug="dpo")
    old_links = sorted(lora.related_terms.values_list("name", flat=True), key=str.lower)
    assert change(editor_client, lora).status_code == 302  # the first recorded version
    assert change(editor_client, lora, see_also=[dpo.pk]).status_code == 302

    latest, first = versions_of(lora)
    assert (latest.revision.comment, latest.revision.user) == (revisions.ADMIN_FORM, editor)
    [dpo_version] = versions_of(dpo)
    assert dpo_version.revision_id == latest.revision_id

    page = editor_client.get(reverse("admin:terms_term_history", args=[lora.pk]))
    assert page.status_code == 200
    [newest, _oldest] = page.context["entries"]
    assert [(c.label, c.before, c.after) for c in newest["changes"]] == [
        ("See also", ", ".join(old_links), "DPO")
    ]
    assert "Restore this version" in page.content.decode()

    restore = editor_client.post(
        reverse("admin:terms_term_restore", args=[lora.pk, first.pk]),
        {"based_on": latest.pk},
    )
    assert restore.status_code == 302
    assert sorted(lora.related_terms.values_list("name", flat=True), key=str.lower) == old_links
    assert lora not in dpo.related_terms.all()
    restored = versions_of(lora)[0]
    assert restored.revision.comment.startswith("restore of the version of ")
    assert (
        revisions.diff(
            revisions.describe(revisions.state_of(first)),
            revisions.describe(revisions.state_of(restored)),
        )
        == []
    )


def test_restoring_a_link_to_a_deleted_term_is_refused(editor_client, seed, make_term):
    lora = Term.objects.get(slug="lora")
    gone = make_term(seed, "Gone Term")
    assert change(editor_client, lora, see_also=[gone.pk]).status_code == 302
    assert change(editor_client, lora, see_also=[]).status_code == 302
    with_gone = versions_of(lora)[1]
    gone.delete()
    response = editor_client.post(
        reverse("admin:terms_term_restore", args=[lora.pk, with_gone.pk]),
        {"based_on": versions_of(lora)[0].pk},
        follow=True,
    )
    messages = [str(message) for message in response.context["messages"]][-2:]
    assert messages == [
        "The see-also term Gone Term was deleted since; restore it or choose another version.",
        "Nothing was restored.",
    ]
    assert list(lora.related_terms.all()) == []


def test_restoring_a_broken_question_shape_into_a_published_quiz_is_refused(
    staff_client, make_quiz, staff
):
    """The restore goes through the publishing check on the state it leaves."""
    quiz = make_quiz([("single", [True, False])], status=Status.DRAFT)
    question = quiz.questions.get()
    question.choices.update(is_correct=True)  # ill-formed, fine in a draft
    with revisions.recording("test", user=staff):
        revisions.touch(quiz)
    [broken] = versions_of(quiz)
    question.choices.filter(position=2).update(is_correct=False)
    quiz.status, quiz.published_at = Status.PUBLISHED, timezone.now()
    quiz.save()
    with revisions.recording("test", user=staff):
        revisions.touch(quiz)
    # The broken version was a draft: restoring it as published needs its shape to
    # hold, so publish that version's row first (a status-only change in the past).
    Version.objects.filter(pk=broken.pk).update(
        serialized_data=broken.serialized_data.replace('"draft"', '"published"')
    )
    response = staff_client.post(
        reverse("admin:quizzes_quiz_restore", args=[quiz.pk, broken.pk]),
        {"based_on": versions_of(quiz)[0].pk},
        follow=True,
    )
    messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        f"{quiz}: Question 1: A single choice question needs exactly one correct choice "
        "(it has 2).",
        "Nothing was restored.",
    ]
    assert list(question.choices.values_list("is_correct", flat=True)) == [True, False]
    assert Quiz.objects.published().filter(pk=quiz.pk).exists()


def test_a_stale_form_is_refused_with_what_changed_meanwhile(client, editor, staff, seed):
    """Two tabs: the second save, from a form opened before the first save, is refused,
    keeps what its editor typed, and says who changed what; saving again overwrites."""
    lora = Term.objects.get(slug="lora")
    content_save(obj=lora)  # its first recorded version
    opened = term_form(lora)
    client.force_login(staff)
    assert change(client, lora, definition="First editor's definition.").status_code == 302
    client.force_login(editor)
    url = reverse("admin:terms_term_change", args=[lora.pk])
    response = client.post(url, opened | {"definition": "Second editor's definition."})
    assert response.status_code == 200
    form = response.context["adminform"].form
    errors = list(form.non_field_errors())
    assert (
        errors[0] == "This term was changed by someone else since you opened it; nothing was saved."
    )
    assert errors[1].startswith("Changed meanwhile by staff at ")
    assert errors[1].endswith("(admin form).")
    assert errors[2:] == [
        f"Definition: “{opened['definition']}” → “First editor's definition.”",
        "Save again to replace their changes with yours, or reload the page to start from theirs.",
    ]
    assert "Second editor&#x27;s definition." in response.content.decode()
    lora.refresh_from_db()
    assert lora.definition == "First editor's definition."

    again = client.post(url, {**opened, "definition": "Second editor's definition.",
                              "based_on": form.data["based_on"]})  # fmt: skip
    assert again.status_code == 302
    lora.refresh_from_db()
    assert lora.definition == "Second editor's definition."


def test_the_service_refuses_a_stale_edit(seed, editor):
    lora = Term.objects.get(slug="lora")
    content_save(obj=lora, user=editor)
    stale = versions_of(lora)[0].pk
    lora.definition = "Newer."
    content_save(obj=lora, user=editor, based_on=stale)
    other = Term.objects.get(slug="lora")
    other.definition = "Lost?"
    with pytest.raises(ValidationError) as refused:
        content_save(obj=other, user=editor, based_on=stale)
    assert refused.value.messages[0] == (
        "This term was changed by someone else since you opened it; nothing was saved."
    )
    assert refused.value.messages[2] == "Definition: “Definition of LoRA.” → “Newer.”" or (
        refused.value.messages[2].endswith("→ “Newer.”")
    )
    assert Term.objects.get(slug="lora").definition == "Newer."


def test_bulk_actions_and_the_question_page_are_recorded_by_name(editor_client, editor, seed_quiz):
    terms = Term.objects.filter(slug__in=["lora", "dpo"])
    response = editor_client.post(
        reverse("admin:terms_term_changelist"),
        {"action": "make_archived", "_selected_action": [t.pk for t in terms], "index": 0},
    )
    assert response.status_code == 302
    for term in terms:
        [version] = versions_of(term)
        assert version.revision.comment == "bulk action “Archive selected terms”"
        assert version.revision.user == editor

    question = seed_quiz.questions.get(position=1)
    choices = list(question.choices.all())
    data = {
        "quiz": seed_quiz.pk, "position": 1, "prompt": "Reworded?", "kind": question.kind,
        "term": question.term_id or "", "explanation": question.explanation,
        "choices-TOTAL_FORMS": len(choices), "choices-INITIAL_FORMS": len(choices),
        "choices-MIN_NUM_FORMS": 0, "choices-MAX_NUM_FORMS": 1000,
    }  # fmt: skip
    for index, choice in enumerate(choices):
        data |= {
            f"choices-{index}-id": choice.pk, f"choices-{index}-question": question.pk,
            f"choices-{index}-position": choice.position, f"choices-{index}-text": choice.text,
            **({f"choices-{index}-is_correct": "on"} if choice.is_correct else {}),
        }  # fmt: skip
    response = editor_client.post(
        reverse("admin:quizzes_question_change", args=[question.pk]), data
    )
    assert response.status_code == 302
    [version] = versions_of(seed_quiz)
    assert version.revision.comment == revisions.ADMIN_FORM
    described = revisions.describe(revisions.state_of(version))
    assert described["Question 1"].startswith("Reworded? (")


def test_commands_and_imports_are_recorded_by_name(seed, tmp_path):
    call_command("generate_quiz", "--chapter", seed.slug, "--questions", "4", "--seed", "7")
    quiz = Quiz.objects.get()
    [version] = versions_of(quiz)
    assert version.revision.comment == "command generate_quiz"
    assert len(revisions.state_of(version).parts[Question]) == 4

    rows = tmp_path / "terms.tsv"
    rows.write_text("name\tdefinition\nLoRA\tImported definition.\n", encoding="utf-8")
    call_command("import_terms", str(rows), "--chapter", seed.slug)
    [version] = versions_of(Term.objects.get(slug="lora"))
    assert version.revision.comment == "command import_terms terms.tsv"


def test_schedule_is_validated_and_listed(editor_client, seed):
    lora = Term.objects.get(slug="lora")
    now = timezone.localtime()
    later = now + HOUR
    response = change(
        editor_client, lora,
        go_live_at_0=later.strftime("%Y-%m-%d"), go_live_at_1=later.strftime("%H:%M:%S"),
        expire_at_0=now.strftime("%Y-%m-%d"), expire_at_1=now.strftime("%H:%M:%S"),
    )  # fmt: skip
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["expire_at"] == [
        "The expiry time must come after the go-live time."
    ]
    response = change(
        editor_client, lora,
        go_live_at_0=later.strftime("%Y-%m-%d"), go_live_at_1=later.strftime("%H:%M:%S"),
    )  # fmt: skip
    assert response.status_code == 302
    Term.objects.filter(slug="dpo").update(expire_at=now - HOUR)
    listing = editor_client.get(reverse("admin:terms_term_changelist"), {"schedule": "scheduled"})
    assert [t.slug for t in listing.context["cl"].result_list] == ["lora"]
    assert f"Scheduled for {later:%Y-%m-%d %H:%M}" in listing.content.decode()
    listing = editor_client.get(reverse("admin:terms_term_changelist"), {"schedule": "expired"})
    assert [t.slug for t in listing.context["cl"].result_list] == ["dpo"]


def test_the_audit_log_lists_changes_by_person_type_and_date(editor_client, editor, staff, seed):
    lora = Term.objects.get(slug="lora")
    change(editor_client, lora, definition="By the editor.")
    editor_client.post(
        reverse("admin:terms_chapter_changelist"),
        {"action": "make_draft", "_selected_action": [seed.pk], "index": 0},
    )
    url = reverse("admin:terms_auditentry_changelist")
    everything = editor_client.get(url)
    assert everything.status_code == 200
    rows = [
        (e.object_repr, e.revision.comment, e.revision.user)
        for e in everything.context["cl"].result_list
    ]
    assert rows == [
        (str(seed), "bulk action “Unpublish selected chapters”", editor),
        ("LoRA", revisions.ADMIN_FORM, editor),
    ]
    terms_only = editor_client.get(url, {"type": "term"})
    assert [e.object_repr for e in terms_only.context["cl"].result_list] == ["LoRA"]
    by_staff = editor_client.get(url, {"revision__user__id__exact": staff.pk})
    assert list(by_staff.context["cl"].result_list) == []
    today = timezone.localdate()
    by_day = editor_client.get(url, {
        "revision__date_created__year": today.year, "revision__date_created__month": today.month,
        "revision__date_created__day": today.day,
    })  # fmt: skip
    assert len(by_day.context["cl"].result_list) == 2
    # Link rows are recorded with their terms, but listed only through them.
    assert AuditEntry.objects.count() > 2
    assert Chapter.objects.get().status == Status.DRAFT
