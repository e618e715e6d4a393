"""Every write path records a revision; restoring one brings the object back with its
see-also links or its questions and choices."""

import datetime

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from quizzes.models import Choice, Question, Quiz
from terms import revisions
from terms.models import Status, Term
from terms.services import (
    content_restore,
    content_save,
    content_set_status,
    term_set_related,
)


def versions_of(obj):
    return list(Version.objects.get_for_object(obj).select_related("revision"))


def described(version):
    return revisions.describe(revisions.state_of(version))


def test_shell_save_is_recorded_when_it_commits(seed, django_capture_on_commit_callbacks):
    """A plain save() in a shell: one revision, path named, no author."""
    term = Term.objects.get(slug="lora")
    term.definition = "Edited in a shell."
    with django_capture_on_commit_callbacks(execute=True):
        term.save()
    [version] = versions_of(term)
    assert version.revision.comment == revisions.OUTSIDE_SERVICES
    assert version.revision.user is None
    assert described(version)["Definition"] == "Edited in a shell."


def test_see_also_change_is_a_revision_of_both_terms(seed, editor):
    """Adding a link changes two lists: both terms get a version in one revision."""
    lora, qlora, dpo = (Term.objects.get(slug=slug) for slug in ("lora", "qlora", "dpo"))
    before = sorted(lora.related_terms.values_list("name", flat=True))
    with revisions.recording("test", user=editor):
        term_set_related(term=lora, related=[*lora.related_terms.all(), dpo])
    [lora_version] = versions_of(lora)
    [dpo_version] = versions_of(dpo)
    assert lora_version.revision_id == dpo_version.revision_id
    assert lora_version.revision.user == editor
    assert described(lora_version)["See also"] == ", ".join(sorted([*before, "DPO"], key=str.lower))
    assert "LoRA" in described(dpo_version)["See also"]
    assert versions_of(qlora) == []


def test_saving_nothing_new_records_nothing(seed, editor):
    """No empty revisions: a save that changes no compared field adds no version."""
    term = Term.objects.get(slug="lora")
    content_save(obj=term, user=editor)
    content_save(obj=term, user=editor)
    assert len(versions_of(term)) == 1


def test_bulk_status_change_is_one_version_per_object_named_by_its_path(seed, editor):
    terms = Term.objects.filter(slug__in=["lora", "dpo"])
    with revisions.recording(revisions.bulk_action_path("Unpublish selected terms"), user=editor):
        content_set_status(queryset=terms, status=Status.DRAFT, user=editor)
    for term in terms:
        [version] = versions_of(term)
        assert version.revision.comment == "bulk action “Unpublish selected terms”"
        assert described(version)["Status"] == "Draft"


def test_restore_round_trip_term_with_see_also(seed, editor):
    """Restore then describe: identical to the restored version, links both ways."""
    lora, dpo = Term.objects.get(slug="lora"), Term.objects.get(slug="dpo")
    content_save(obj=lora, user=editor)
    [first] = versions_of(lora)
    lora.definition = "Changed."
    content_save(
        obj=lora, user=editor, save_related=lambda: term_set_related(term=lora, related=[dpo])
    )
    assert described(versions_of(lora)[0])["See also"] == "DPO"

    content_restore(version=first, user=editor, based_on=versions_of(lora)[0].pk)
    latest = versions_of(lora)[0]
    assert latest.revision.comment.startswith("restore of the version of ")
    assert revisions.diff(described(first), described(latest)) == []
    lora.refresh_from_db()
    assert lora.definition == first._object_version.object.definition
    assert revisions.diff(described(first), revisions.describe(revisions.current_state(lora))) == []
    assert lora in Term.objects.get(slug="qlora").related_terms.all()
    assert lora not in dpo.related_terms.all()


def test_restore_quiz_with_questions_and_choices(make_quiz, editor, seed):
    quiz = make_quiz([("single", [True, False]), ("multiple", [True, True, False])])
    content_save(obj=quiz, user=editor)
    [first] = versions_of(quiz)
    second = quiz.questions.get(position=2)
    second.choices.filter(position=3).delete()
    second.choices.filter(position=1).update(text="Renamed", position=9)
    Question.objects.create(quiz=quiz, position=3, prompt="Extra?")
    quiz.questions.get(position=1).delete()
    with revisions.recording("test edit", user=editor):
        revisions.touch(quiz)

    content_restore(version=first, user=editor)
    latest = versions_of(quiz)[0]
    assert revisions.diff(described(first), described(latest)) == []
    assert list(quiz.questions.values_list("position", "prompt")) == [
        (1, "Question 1?"),
        (2, "Question 2?"),
    ]
    assert list(
        Choice.objects.filter(question__quiz=quiz).values_list("position", "text", "is_correct")
    ) == [
        (1, "Choice 1.1", True), (2, "Choice 1.2", False),
        (1, "Choice 2.1", True), (2, "Choice 2.2", True), (3, "Choice 2.3", False),
    ]  # fmt: skip
    assert Quiz.objects.published().filter(pk=quiz.pk).exists()


def test_record_revisions_records_what_has_no_version_once(seed_quiz, capsys):
    call_command("record_revisions")
    assert capsys.readouterr().out.splitlines() == [
        "chapters: 1 recorded",
        "terms: 31 recorded",
        "quizzes: 1 recorded",
    ]
    version = Version.objects.get_for_object(seed_quiz).get()
    assert version.revision.comment == "command record_revisions"
    assert len(revisions.state_of(version).parts[Question]) == 14
    call_command("record_revisions")
    assert capsys.readouterr().out.splitlines() == [
        "chapters: 0 recorded",
        "terms: 0 recorded",
        "quizzes: 0 recorded",
    ]


def test_deleting_a_term_records_the_lists_it_leaves(seed, staff_client, staff):
    """The other ends of a deleted term's links lose a see-also term: recorded."""
    dpo = Term.objects.get(slug="dpo")
    partners = list(dpo.related_terms.all())
    assert partners
    response = staff_client.post(reverse("admin:terms_term_delete", args=[dpo.pk]), {"post": "yes"})
    assert response.status_code == 302
    for partner in partners:
        [version] = versions_of(partner)
        assert (version.revision.comment, version.revision.user) == (revisions.ADMIN_DELETE, staff)
        assert "DPO" not in described(version)["See also"]


def test_load_seed_is_one_revision_named_by_the_command(db, tmp_path):
    call_command("load_seed", str(settings.BASE_DIR / "fixtures" / "glossary.json"))
    comments = set(Version.objects.values_list("revision__comment", flat=True))
    assert comments == {"command load_seed glossary.json"}
    assert Version.objects.values("revision").distinct().count() == 1
    assert Version.objects.filter(content_type__model="term").count() == 31


def test_the_database_refuses_an_expiry_before_the_go_live_time(seed):
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Term.objects.filter(slug="lora").update(
            go_live_at=now, expire_at=now - datetime.timedelta(minutes=1)
        )
