"""generate_quiz: deterministic drafts from a chapter's terms, with sensible distractors."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from quizzes.models import Question, Quiz
from terms.models import Status


def snapshot(quiz):
    return [
        (q.prompt, q.term.slug, [(c.text, c.is_correct) for c in q.choices.all()])
        for q in quiz.questions.select_related("term").prefetch_related("choices")
    ]


def test_same_seed_gives_the_same_quiz(seed):
    """Two runs with one seed draft identical questions and choices."""
    call_command("generate_quiz", chapter=seed.slug, questions=8, seed=42)
    first = Quiz.objects.get()
    first_snapshot = snapshot(first)
    first.delete()
    call_command("generate_quiz", chapter=seed.slug, questions=8, seed=42)
    assert snapshot(Quiz.objects.get()) == first_snapshot
    call_command("generate_quiz", chapter=seed.slug, questions=8, seed=7)
    assert snapshot(Quiz.objects.get(slug=f"{seed.slug}-quiz-7")) != first_snapshot


def test_generated_quiz_is_a_valid_draft(seed):
    """Each question has four choices, one correct (its term), related terms as distractors."""
    call_command("generate_quiz", chapter=seed.slug, questions=31, seed=3)
    quiz = Quiz.objects.get()
    assert (quiz.status, quiz.chapter, quiz.questions.count()) == (Status.DRAFT, seed, 31)
    for question in quiz.questions.select_related("term").prefetch_related("choices"):
        choices = list(question.choices.all())
        assert question.kind == Question.Kind.SINGLE
        assert [c.text for c in choices if c.is_correct] == [question.term.name]
        assert len({c.text for c in choices}) == 4
        assert question.term.definition in question.prompt
        related = set(question.term.related_terms.values_list("name", flat=True))
        distractors = {c.text for c in choices if not c.is_correct}
        assert len(distractors & related) == min(3, len(related))


def test_lora_question_uses_its_related_terms(seed):
    """LoRA's distractors come from its see-also terms."""
    call_command("generate_quiz", chapter=seed.slug, questions=31, seed=1)
    question = Question.objects.get(term__slug="lora")
    distractors = set(question.choices.filter(is_correct=False).values_list("text", flat=True))
    assert distractors <= {"QLoRA", "PEFT", "Adapter Tuning", "Prefix Tuning", "Prompt Tuning"}


def test_small_chapters_are_refused(make_chapter, make_term):
    """A chapter with fewer than four published terms cannot make a quiz."""
    chapter = make_chapter("tiny")
    for name in ["One", "Two", "Three"]:
        make_term(chapter, name)
    make_term(chapter, "Draft", status=Status.DRAFT)
    with pytest.raises(
        CommandError, match="has 3 published terms; a generated quiz needs at least 4"
    ):
        call_command("generate_quiz", chapter="tiny", questions=3, seed=1)
    assert not Quiz.objects.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"chapter": "nope"}, "No chapter with slug 'nope'."),
        ({"questions": 40}, "Ask for 1 to 31 questions"),
        ({"questions": 0}, "Ask for 1 to 31 questions"),
    ],
)
def test_bad_arguments_are_refused(seed, arguments, message):
    """Unknown chapters and impossible question counts are clear errors."""
    with pytest.raises(CommandError, match=message):
        call_command("generate_quiz", **{"chapter": seed.slug, "seed": 1, **arguments})


def test_existing_seed_is_refused(seed):
    """Generating the same quiz twice does not overwrite the first draft."""
    call_command("generate_quiz", chapter=seed.slug, questions=5, seed=9)
    with pytest.raises(CommandError, match="already exists"):
        call_command("generate_quiz", chapter=seed.slug, questions=5, seed=9)
    assert Quiz.objects.count() == 1


def test_admin_action_drafts_a_quiz(editor_client, seed):
    """The chapter list's action drafts a ten-question quiz for review."""
    response = editor_client.post(
        reverse("admin:terms_chapter_changelist"),
        {"action": "generate_quiz", "_selected_action": [seed.pk]},
        follow=True,
    )
    quiz = Quiz.objects.get()
    assert (quiz.status, quiz.questions.count()) == (Status.DRAFT, 10)
    assert any("with 10 questions" in str(m) for m in response.context["messages"])
