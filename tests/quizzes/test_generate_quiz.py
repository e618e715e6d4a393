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
        assert question.prompt.startswith("Which term matches this definition?")
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


def test_no_generated_prompt_gives_its_answer_away(seed):
    """Every prompt of the seed chapter's generated quiz is free of its answer: the term's
    name, abbreviation, expansion and aliases, in any case; the definition is quoted
    with the answer blanked out."""
    call_command("generate_quiz", chapter=seed.slug, questions=31, seed=5)
    questions = Quiz.objects.get().questions.select_related("term")
    assert questions.count() == 31
    blanked = 0
    for question in questions:
        term = question.term
        forms = [term.name, term.abbreviation, term.expansion, *term.alias_list]
        prompt = question.prompt.lower()
        assert not [form for form in forms if form and form.lower() in prompt], question.prompt
        blanked += "____" in question.prompt
    assert blanked >= 10  # the seed has ten definitions that name their term


def test_generated_titles_and_slugs_are_distinct(seed):
    """Two generated quizzes of one chapter have different, readable titles and slugs."""
    call_command("generate_quiz", chapter=seed.slug, questions=4, seed=1)
    call_command("generate_quiz", chapter=seed.slug, questions=4, seed=2)
    assert sorted(Quiz.objects.values_list("title", "slug")) == [
        (f"{seed.title}: which term is it? (set 1)", f"{seed.slug}-quiz-1"),
        (f"{seed.title}: which term is it? (set 2)", f"{seed.slug}-quiz-2"),
    ]


def test_a_long_chapter_slug_still_fits(seed):
    """A chapter slug and title at their maximum length give a quiz within its fields."""
    seed.slug, seed.title = "s" * 200, "T" * 200
    seed.save()
    call_command("generate_quiz", chapter=seed.slug, questions=4, seed=123)
    quiz = Quiz.objects.get()
    assert (len(quiz.slug), quiz.slug[-9:]) == (200, "-quiz-123")
    assert len(quiz.title) == 200
    assert quiz.title.endswith("(set 123)")
