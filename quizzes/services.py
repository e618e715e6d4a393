"""State changes of quizzes: scoring and storing attempts, drafting quizzes.

Publishing goes through terms.services (content_save, content_set_status), which check
a quiz's questions through QuizQuerySet.publication_problems.

Every function here is one named write, called alike by GraphQL, the admin and
management commands. Client mistakes raise ValidationError with a code from
`ErrorCode`, keyed by the input field they concern; nothing is written then.
"""

import datetime
import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError
from django.utils import timezone
from django.utils.text import slugify

from quizzes.attempts import (
    AttemptStart,
    AttemptTokenError,
    attempt_draw,
    attempt_token,
    attempt_token_read,
    choice_order,
    new_seed,
)
from quizzes.listeners import AttemptChange, attempts_changed
from quizzes.models import (
    MAX_QUESTIONS,
    AttemptAnswer,
    AttemptAnswerChoice,
    Choice,
    Question,
    Quiz,
    QuizAttempt,
)
from quizzes.scoring import attempt_score, question_correct
from terms import outbox, revisions
from terms.models import Chapter, Status, Term

MAX_ANSWERS = 250
CLOCK_SKEW = datetime.timedelta(minutes=5)


class ErrorCode(StrEnum):
    QUIZ_NOT_FOUND = "QUIZ_NOT_FOUND"
    QUESTION_NOT_IN_QUIZ = "QUESTION_NOT_IN_QUIZ"
    CHOICE_NOT_IN_QUESTION = "CHOICE_NOT_IN_QUESTION"
    DUPLICATE_ANSWER = "DUPLICATE_ANSWER"
    TOO_MANY_CHOICES = "TOO_MANY_CHOICES"
    TOO_MANY_ANSWERS = "TOO_MANY_ANSWERS"
    INVALID_ID = "INVALID_ID"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_STARTED_AT = "INVALID_STARTED_AT"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    ATTEMPT_TOKEN_INVALID = "ATTEMPT_TOKEN_INVALID"
    ATTEMPT_TOKEN_EXPIRED = "ATTEMPT_TOKEN_EXPIRED"
    ATTEMPT_TOKEN_REQUIRED = "ATTEMPT_TOKEN_REQUIRED"


def client_error(field_name: str, message: str, code: ErrorCode) -> ValidationError:
    return ValidationError({field_name: ValidationError(message, code=code.value)})


@dataclass(frozen=True)
class AnswerInput:
    question_id: int
    choice_ids: list[int] = field(default_factory=list)


def answers_fingerprint(answers: list[AnswerInput], seed: int | None = None) -> str:
    normalized = sorted((answer.question_id, sorted(answer.choice_ids)) for answer in answers)
    if seed is not None:  # an attempt token's answers are not another token's
        normalized = [seed, normalized]
    return hashlib.sha256(json.dumps(normalized).encode()).hexdigest()


@dataclass(frozen=True)
class StartedAttempt:
    token: str
    start: AttemptStart
    questions: list[tuple[Question, list[Choice]]]


def _published_quiz(quiz_id: int) -> Quiz:
    quiz = Quiz.objects.published().filter(pk=quiz_id).first()
    if quiz is None:
        raise client_error("quiz", "No published quiz has this id.", ErrorCode.QUIZ_NOT_FOUND)
    return quiz


def _questions(queryset) -> list[Question]:
    return list(queryset.select_related("term").prefetch_related("choices"))


def attempt_start(*, quiz_id: int, now: datetime.datetime | None = None) -> StartedAttempt:
    """Start an attempt at the published quiz `quiz_id`: draw its questions and order
    them and their choices from a fresh seed, and sign all that in a token that
    `attempt_submit` takes. Writes nothing. Raises ValidationError (QUIZ_NOT_FOUND)."""
    quiz = _published_quiz(quiz_id)
    quiz_questions = _questions(quiz.questions.current())
    seed = new_seed()
    drawn = attempt_draw(quiz, quiz_questions, seed)
    start = AttemptStart(
        quiz_id=quiz.pk,
        seed=seed,
        started_at=now or timezone.now(),
        question_ids=tuple(question.pk for question in drawn),
    )
    return StartedAttempt(
        token=attempt_token(start),
        start=start,
        questions=[(question, choice_order(question, seed)) for question in drawn],
    )


def _token_start(token: str, quiz: Quiz) -> AttemptStart:
    try:
        start = attempt_token_read(token)
    except AttemptTokenError as error:
        raise client_error("attemptToken", error.message, ErrorCode(error.code)) from None
    if start.quiz_id != quiz.pk:
        raise client_error(
            "attemptToken",
            "This attempt token belongs to another quiz.",
            ErrorCode.ATTEMPT_TOKEN_INVALID,
        )
    return start


def attempt_submit(
    *,
    quiz_id: int,
    answers: list[AnswerInput],
    idempotency_key: str,
    client_id: str = "",
    started_at: datetime.datetime | None = None,
    attempt_token: str | None = None,
    user=None,
    now: datetime.datetime | None = None,
) -> QuizAttempt:
    """Score `answers` to the published quiz `quiz_id` and store the attempt, once.

    With `attempt_token` (from `attempt_start`), the attempt is the one the token
    started: its questions are those the token drew, its start time the token's, and
    the order it served is stored with it; a token submits one attempt only (its
    retries replay it). Without a token (deprecated), every question of the quiz is
    asked and `started_at` is the client's word.

    A question is right when the selected choices equal its correct choices; questions
    left out count as wrong. The attempt and one answer per question asked are
    written in one transaction. Repeating a submission with the same (quiz, client_id,
    idempotency_key) returns the stored attempt and writes nothing, even when the two
    requests race; repeating it with other answers is an IDEMPOTENCY_CONFLICT.
    `now` is the submission time, for importing past attempts; the clock by default.
    Raises ValidationError (codes in ErrorCode) and then writes nothing.
    """
    quiz = _published_quiz(quiz_id)
    now = now or timezone.now()
    start = None
    if attempt_token is not None:
        start = _token_start(attempt_token, quiz)
        asked = _questions(Question.objects.filter(quiz=quiz, pk__in=start.question_ids))
        if len(asked) != len(start.question_ids):
            raise client_error(
                "attemptToken",
                "The quiz changed since this attempt started; start it again.",
                ErrorCode.ATTEMPT_TOKEN_INVALID,
            )
        started_at = start.started_at
    else:
        if quiz.draw_count or quiz.draw_rules.exists():
            raise client_error(
                "attemptToken",
                "This quiz draws questions per attempt: start it with startQuizAttempt.",
                ErrorCode.ATTEMPT_TOKEN_REQUIRED,
            )
        asked = _questions(quiz.questions.current())
    questions = {question.pk: question for question in asked}
    _validate_answers(answers, questions)

    if (
        start is None
        and started_at is not None
        and not (now - datetime.timedelta(days=7) <= started_at <= now + CLOCK_SKEW)
    ):
        raise client_error(
            "startedAt",
            "startedAt must be a time within the last seven days.",
            ErrorCode.INVALID_STARTED_AT,
        )
    seed = start.seed if start is not None else None
    fingerprint = answers_fingerprint(answers, seed)
    identity = {"quiz": quiz, "client_id": client_id, "idempotency_key": idempotency_key}
    order = None
    if start is not None:
        order = [
            [pk, [choice.pk for choice in choice_order(questions[pk], seed)]]
            for pk in start.question_ids
        ]

    existing = _existing(identity, seed)
    if existing is not None:
        return _replay(existing, fingerprint, idempotency_key)
    try:
        with transaction.atomic():
            return _store_attempt(
                identity, questions, answers, fingerprint, started_at, now, quiz, user,
                seed=seed, order=order,
            )  # fmt: skip
    except IntegrityError:
        # A concurrent request with the same key or token committed first: a retry.
        existing = _existing(identity, seed)
        if existing is None:
            raise
        return _replay(existing, fingerprint, idempotency_key)


def _existing(identity: dict, seed: int | None) -> QuizAttempt | None:
    existing = QuizAttempt.objects.filter(**identity).first()
    if existing is None and seed is not None:
        existing = QuizAttempt.objects.filter(quiz=identity["quiz"], seed=seed).first()
    return existing


def _validate_answers(answers: list[AnswerInput], questions: dict[int, Question]) -> None:
    if len(answers) > min(len(questions), MAX_ANSWERS):
        raise client_error(
            "answers",
            f"This quiz has {len(questions)} questions; {len(answers)} answers were sent.",
            ErrorCode.TOO_MANY_ANSWERS,
        )
    answered: set[int] = set()
    for index, answer in enumerate(answers):
        question = questions.get(answer.question_id)
        if question is None:
            raise client_error(
                f"answers.{index}.question",
                "This question is not part of the quiz.",
                ErrorCode.QUESTION_NOT_IN_QUIZ,
            )
        if question.pk in answered:
            raise client_error(
                f"answers.{index}.question",
                "This question is answered twice.",
                ErrorCode.DUPLICATE_ANSWER,
            )
        answered.add(question.pk)
        choice_ids = {choice.pk for choice in question.choices.all()}
        if len(set(answer.choice_ids)) != len(answer.choice_ids):
            raise client_error(
                f"answers.{index}.choices",
                "A choice is selected twice.",
                ErrorCode.DUPLICATE_ANSWER,
            )
        if any(choice_id not in choice_ids for choice_id in answer.choice_ids):
            raise client_error(
                f"answers.{index}.choices",
                "A selected choice does not belong to this question.",
                ErrorCode.CHOICE_NOT_IN_QUESTION,
            )
        if question.kind != Question.Kind.MULTIPLE and len(answer.choice_ids) > 1:
            raise client_error(
                f"answers.{index}.choices",
                "Only one choice may be selected for this question.",
                ErrorCode.TOO_MANY_CHOICES,
            )


def _store_attempt(
    identity, questions, answers, fingerprint, started_at, now, quiz, user, *, seed, order
):
    selected = {answer.question_id: set(answer.choice_ids) for answer in answers}
    results = {
        question.pk: question_correct(
            selected.get(question.pk, ()),
            (choice.pk for choice in question.choices.all() if choice.is_correct),
        )
        for question in questions.values()
    }
    scored = attempt_score(results.values(), pass_percentage=quiz.pass_percentage)
    attempt = QuizAttempt.objects.create(
        **identity,
        user=user if user is not None and user.is_authenticated else None,
        answers_fingerprint=fingerprint,
        started_at=started_at,
        seed=seed,
        order=order,
        submitted_at=now,
        duration=now - started_at if started_at is not None and started_at <= now else None,
        score=scored.score,
        max_score=scored.max_score,
        percentage=scored.percentage,
        passed=scored.passed,
    )
    stored = AttemptAnswer.objects.bulk_create(
        AttemptAnswer(attempt=attempt, question_id=question_id, is_correct=correct)
        for question_id, correct in results.items()
    )
    AttemptAnswerChoice.objects.bulk_create(
        AttemptAnswerChoice(answer=answer, choice_id=choice_id)
        for answer in stored
        for choice_id in sorted(selected.get(answer.question_id, ()))
    )
    attempts_changed([attempt.pk], AttemptChange.STORED)
    return attempt


@dataclass(frozen=True)
class QuestionContent:
    """What makes a question the same question for its statistics."""

    prompt: str
    kind: str
    explanation: str
    term_id: int | None
    choices: tuple[tuple[int, int, str, bool, bool], ...]  # pk, position, text, correct, pinned

    def asks_the_same(self, other: "QuestionContent") -> bool:
        """Same prompt, kind, choices (by row, text and correctness): an edit of anything
        else (explanation, term, positions, pinning) keeps the version."""

        def scored(content):
            return {(pk, text, correct) for pk, _, text, correct, _ in content.choices}

        return (self.prompt, self.kind, scored(self)) == (other.prompt, other.kind, scored(other))


def question_contents(question_ids) -> dict[int, QuestionContent]:
    """The stored content of the questions `question_ids`, to compare after an edit."""
    return {
        question.pk: QuestionContent(
            prompt=question.prompt,
            kind=question.kind,
            explanation=question.explanation,
            term_id=question.term_id,
            choices=tuple(
                (c.pk, c.position, c.text, c.is_correct, c.pinned) for c in question.choices.all()
            ),
        )
        for question in Question.objects.filter(pk__in=list(question_ids)).prefetch_related(
            "choices"
        )
    }


@transaction.atomic
def question_versions_keep(*, before: dict[int, QuestionContent]) -> list[Question]:
    """Call after editing questions, with their `question_contents` from before the edit.

    A question that learners answered and whose prompt, kind, choices or correctness
    changed gets a new version: its content from before is kept as a retired copy
    (version n, with copies of its choices), the answers given so far move to that copy
    with their selections, and the edited question becomes version n + 1, linked to it.
    Attempts keep the version they answered, and analytics (keyed by question and
    choice) report each version apart: the listeners hear the moved attempts leave and
    come back, in this transaction. Returns the retired copies.
    """
    after = question_contents(before)
    changed = [
        pk for pk, content in before.items() if pk in after and not after[pk].asks_the_same(content)
    ]
    answered = set(
        AttemptAnswer.objects.filter(question__in=changed).values_list("question", flat=True)
    )
    kept = []
    for question in Question.objects.filter(pk__in=answered).order_by("pk"):
        old = before[question.pk]
        attempt_ids = list(
            AttemptAnswer.objects.filter(question=question).values_list("attempt", flat=True)
        )
        attempts_changed(attempt_ids, AttemptChange.DELETING)
        Question.objects.filter(pk=question.pk).update(previous=None)  # one-to-one
        copy = Question.objects.create(
            quiz_id=question.quiz_id, position=question.position, prompt=old.prompt,
            kind=old.kind, explanation=old.explanation, term_id=old.term_id,
            version=question.version, previous=question.previous, retired_at=timezone.now(),
        )  # fmt: skip
        choice_copies = {
            pk: Choice.objects.create(
                question=copy, position=position, text=text, is_correct=correct, pinned=pinned
            )
            for pk, position, text, correct, pinned in old.choices
        }
        for pk, choice in choice_copies.items():
            AttemptAnswerChoice.objects.filter(answer__question=question, choice_id=pk).update(
                choice=choice
            )
        AttemptAnswer.objects.filter(question=question).update(question=copy)
        Question.objects.filter(pk=question.pk).update(version=question.version + 1, previous=copy)
        attempts_changed(attempt_ids, AttemptChange.STORED)
        kept.append(copy)
    return kept


DELETE_BATCH = 500


@transaction.atomic
def quiz_questions_changed(*, quiz_ids) -> None:
    """The questions or choices of these quizzes were edited: the published ones get an
    UPDATED outbox event (their public content changed), in the edit's transaction."""
    with outbox.recording():
        outbox.watch(Quiz, quiz_ids)


def attempts_delete(*, queryset) -> int:
    """Delete the attempts of `queryset`, with their answers; returns how many.

    Attempts are history: this is for erasure and clean-up, not editing. The listeners
    (the analytics roll-ups) hear of each batch before it goes, in the same
    transaction, so what they derive stays exact; all or nothing.
    """
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    with transaction.atomic():
        for start in range(0, len(ids), DELETE_BATCH):
            batch = ids[start : start + DELETE_BATCH]
            attempts_changed(batch, AttemptChange.DELETING)
            QuizAttempt.objects.filter(pk__in=batch).delete()
    return len(ids)


def _replay(existing: QuizAttempt, fingerprint: str, idempotency_key: str) -> QuizAttempt:
    if existing.answers_fingerprint != fingerprint:
        if existing.idempotency_key != idempotency_key:  # found by its token's seed
            raise client_error(
                "attemptToken",
                "This attempt token was already submitted with other answers.",
                ErrorCode.IDEMPOTENCY_CONFLICT,
            )
        raise client_error(
            "idempotencyKey",
            "This idempotency key was already used for a submission with other answers.",
            ErrorCode.IDEMPOTENCY_CONFLICT,
        )
    return existing


MIN_TERMS_FOR_QUIZ = 4
CHOICES_PER_QUESTION = 4
WORD = re.compile(r"[a-z]{4,}")
BLANK = "____"


def _words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def masked_definition(term: Term) -> str:
    """The term's definition with every mention of its answer (name, abbreviation,
    expansion, aliases; any case, plurals included) blanked out, longest form first."""
    forms = sorted(
        {form for form in (term.name, term.abbreviation, term.expansion, *term.alias_list) if form},
        key=len,
        reverse=True,
    )
    text = term.definition
    for form in forms:
        text = re.sub(rf"(?<!\w){re.escape(form)}\w*", BLANK, text, flags=re.IGNORECASE)
    return text


def generated_quiz_names(chapter: Chapter, seed: int) -> tuple[str, str]:
    """(title, slug) of the quiz generated from `chapter` with `seed`: distinct per seed,
    readable, and within the fields' lengths however long the chapter's own are."""
    suffix = f"-quiz-{seed}"
    slug = slugify(chapter.slug)[: Quiz._meta.get_field("slug").max_length - len(suffix)]
    ending = f": which term is it? (set {seed})"
    title = chapter.title[: Quiz._meta.get_field("title").max_length - len(ending)]
    return f"{title}{ending}", f"{slug}{suffix}"


def quiz_generate(*, chapter: Chapter, questions: int, seed: int) -> Quiz:
    """Draft a "which term matches this definition?" quiz from the chapter's published terms.

    Each question asks for one term, its definition quoted with the answer blanked out
    (masked_definition); its three distractors come from the same chapter,
    related terms first, then the terms whose definitions share the most words. The
    same chapter content and seed give the same quiz. The quiz is saved as a draft for
    editors to review. Raises ValidationError when the chapter has fewer than four
    published terms, when `questions` is out of range, or when the quiz already exists.
    """
    terms = list(
        Term.objects.published()
        .filter(chapter=chapter)
        .order_by("pk")
        .prefetch_related("related_terms")
    )
    if len(terms) < MIN_TERMS_FOR_QUIZ:
        raise ValidationError(
            f"{chapter} has {len(terms)} published terms; a generated quiz needs at least "
            f"{MIN_TERMS_FOR_QUIZ}.",
            code="too_few_terms",
        )
    most = min(len(terms), MAX_QUESTIONS)
    if not 1 <= questions <= most:
        raise ValidationError(
            f"Ask for 1 to {most} questions (one per published term, {MAX_QUESTIONS} at most).",
            code="question_count",
        )
    title, slug = generated_quiz_names(chapter, seed)
    if Quiz.objects.filter(slug=slug).exists():
        raise ValidationError(f'A quiz "{slug}" already exists; use another seed.', code="exists")

    rng = random.Random(seed)
    words = {term.pk: _words(term.definition) for term in terms}
    with transaction.atomic(), revisions.recording(revisions.service_path("quiz_generate")):
        quiz = Quiz.objects.create(
            title=title,
            slug=slug,
            chapter=chapter,
            description=f"Match each definition to its term ({questions} questions).",
            status=Status.DRAFT,
        )
        for position, term in enumerate(rng.sample(terms, questions), start=1):
            related = {other.pk for other in term.related_terms.all()}
            candidates = sorted(
                (other for other in terms if other.pk != term.pk),
                key=lambda other: (
                    other.pk not in related,
                    -len(words[term.pk] & words[other.pk]),
                    other.name.lower(),
                ),
            )
            options = [term, *candidates[: CHOICES_PER_QUESTION - 1]]
            rng.shuffle(options)
            question = Question.objects.create(
                quiz=quiz,
                position=position,
                prompt=f"Which term matches this definition? “{masked_definition(term)}”",
                kind=Question.Kind.SINGLE,
                term=term,
                explanation=f"{term.name}: {term.definition}",
            )
            Choice.objects.bulk_create(
                Choice(
                    question=question, position=index, text=option.name, is_correct=option == term
                )
                for index, option in enumerate(options, start=1)
            )
    return quiz


def _question_lines(state: revisions.State) -> dict[str, str]:
    """One line per question: its prompt, kind, term and explanation, then its choices
    (✓ marks the correct ones)."""
    choices: dict[int, list[Choice]] = {}
    for choice in sorted(state.rows(Choice), key=lambda choice: choice.position):
        choices.setdefault(choice.question_id, []).append(choice)
    term_ids = [question.term_id for question in state.rows(Question) if question.term_id]
    names = dict(Term.objects.filter(pk__in=term_ids).values_list("pk", "name"))
    lines = {}
    for question in sorted(state.rows(Question), key=lambda question: question.position):
        about = [Question.Kind(question.kind).label]
        if question.term_id:
            about.append(f"term {names.get(question.term_id, f'#{question.term_id}')}")
        if question.explanation:
            about.append(f"explanation “{question.explanation}”")
        offered = "; ".join(
            f"{'✓' if choice.is_correct else '✗'} {choice.text}"
            for choice in choices.get(question.pk, [])
        )
        lines[f"Question {question.position}"] = (
            f"{question.prompt} ({', '.join(about)}) — {offered or 'no choices'}"
        )
    return lines or {"Questions": "—"}


# Positions are unique per quiz and per question: rows being restored are first moved
# past any position in use, so that they can take their recorded positions in any order.
PARKED = 1_000_000


def _restore_questions(quiz: Quiz, state: revisions.State) -> None:
    """Make the quiz's questions and choices those of `state`; refuses (ValidationError)
    removing rows learners answered, and questions about terms deleted since."""
    questions, choices = state.rows(Question), state.rows(Choice)
    missing_terms = {q.term_id for q in questions if q.term_id} - set(
        Term.objects.filter(pk__in=[q.term_id for q in questions]).values_list("pk", flat=True)
    )
    if missing_terms:
        raise ValidationError(
            "A question of that version tests a term that was deleted since.",
            code="deleted_term",
        )
    try:
        # Retired versions stay: they belong to the attempts that answered them.
        Choice.objects.filter(question__quiz=quiz, question__retired_at__isnull=True).exclude(
            pk__in=[choice.pk for choice in choices]
        ).delete()
        Question.objects.current().filter(quiz=quiz).exclude(
            pk__in=[question.pk for question in questions]
        ).delete()
    except ProtectedError:
        raise ValidationError(
            "Learners have answered questions or choices that this version does not have; "
            "they cannot be removed. Edit the quiz instead.",
            code="answered",
        ) from None
    Question.objects.filter(pk__in=[q.pk for q in questions]).update(
        position=F("position") + PARKED
    )
    Choice.objects.filter(pk__in=[c.pk for c in choices]).update(position=F("position") + PARKED)
    for question in questions:
        question.quiz_id = quiz.pk
        question.save()
    for choice in choices:
        choice.save()


def register_revisions() -> None:
    """Quizzes are recorded with their questions and choices (terms.revisions)."""

    def quiz_of_choice(choice):
        quiz_id = (
            Question.objects.filter(pk=choice.question_id).values_list("quiz_id", flat=True)
        ).first()
        return [(Quiz, quiz_id)]

    revisions.register_content(
        revisions.Content(
            model=Quiz,
            parts=(revisions.Part(Question, "quiz"), revisions.Part(Choice, "question")),
            describe_parts=_question_lines,
            restore_parts=_restore_questions,
        ),
        owners={
            Quiz: lambda quiz: [(Quiz, quiz.pk)],
            Question: lambda question: [(Quiz, question.quiz_id)],
            Choice: quiz_of_choice,
        },
    )
