import datetime
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q

from glossary_backend.inputs import day_window
from terms.models import (
    Chapter,
    Publishable,
    PublishableQuerySet,
    StoredTextRules,
    Term,
    expires_after_going_live,
    live_q,
    published_has_date,
)

# Bounds a published quiz keeps (publication_problems) and the API declares for its lists.
MAX_QUESTIONS = 100
MAX_CHOICES = 10


class QuizQuerySet(PublishableQuerySet):
    def published_q(self) -> Q:
        """Live quizzes that stand alone or belong to a live chapter."""
        return live_q() & (Q(chapter__isnull=True) | live_q("chapter__"))

    @staticmethod
    def in_chapter_q(slug: str) -> Q:
        return Q(chapter__slug=slug)

    def in_chapter(self, slug: str):
        return self.filter(self.in_chapter_q(slug))

    def publication_problems(self) -> list[str]:
        """A published quiz is answerable: it has questions, each of a well-formed shape."""
        quizzes = self.prefetch_related(
            models.Prefetch(
                "questions", queryset=Question.objects.current().prefetch_related("choices")
            )
        )
        return [
            f"{quiz}: {problem}"
            for quiz in quizzes
            for problem in quiz_shape_problems(
                [
                    (
                        question.position,
                        question.kind,
                        [c.is_correct for c in question.choices.all()],
                    )
                    for question in quiz.questions.all()
                ]
            )
        ]


class Quiz(Publishable):
    """A set of questions learners answer to test their knowledge."""

    title = models.CharField(max_length=200, help_text="Shown as the quiz's heading.")
    slug = models.SlugField(
        max_length=200, unique=True, help_text="The quiz's address on the site; keep it stable."
    )
    description = models.TextField(blank=True, help_text="What the quiz covers.")
    chapter = models.ForeignKey(
        Chapter,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="quizzes",
        help_text="The chapter the quiz belongs to; leave empty for a quiz across chapters.",
    )
    pass_percentage = models.PositiveSmallIntegerField(
        default=70,
        validators=[MaxValueValidator(100)],
        help_text="Share of questions, in percent, a learner must get right to pass.",
    )

    class Reveal(models.TextChoices):
        ALWAYS = "always", "After every attempt"
        AFTER_PASS = "after_pass", "Only after a pass"
        NEVER = "never", "Never (score only)"

    reveal = models.CharField(
        "reveal answers",
        max_length=16,
        choices=Reveal.choices,
        default=Reveal.ALWAYS,
        help_text="What a submission tells the learner besides the score: which questions were "
        "right, the correct choices, the explanations and the terms the questions test.",
    )
    shuffle_questions = models.BooleanField(
        default=False,
        help_text="Serve the questions in a new order per attempt (choices are always "
        "shuffled, except pinned ones).",
    )
    draw_count = models.PositiveSmallIntegerField(
        "questions per attempt",
        null=True,
        blank=True,
        help_text="Draw this many questions per attempt from all of the quiz's questions; "
        "leave empty to ask every question. Ignored when the quiz has draw rules.",
    )

    objects = QuizQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"
        verbose_name_plural = "quizzes"
        ordering = ["title", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(title=""),
                name="quiz_title_not_blank",
                violation_error_message="A quiz needs a title.",
            ),
            models.CheckConstraint(
                condition=Q(pass_percentage__lte=100),
                name="quiz_pass_percentage_at_most_100",
                violation_error_message="The pass percentage is at most 100.",
            ),
            published_has_date("quiz"),
            expires_after_going_live("quiz"),
        ]

    def __str__(self):
        return self.title

    def reveals_answers(self, *, passed: bool) -> bool:
        """Whether an attempt that `passed` (or not) is told its correct answers."""
        return self.reveal == self.Reveal.ALWAYS or (
            self.reveal == self.Reveal.AFTER_PASS and passed
        )


class QuestionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A question is visible exactly when its quiz is, in its current version."""
        return self.current().filter(quiz__in=Quiz.objects.visible_to(user))

    def current(self):
        """The versions a quiz asks now: not those kept for the attempts that answered them."""
        return self.filter(retired_at__isnull=True)


class Question(StoredTextRules):
    """One question of a quiz, with its choices."""

    class Kind(models.TextChoices):
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"
        TRUE_FALSE = "true_false", "True or false"

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(help_text="Order of the question within its quiz.")
    prompt = models.TextField(help_text="The question as learners read it.")
    kind = models.CharField(
        max_length=16,
        choices=Kind.choices,
        default=Kind.SINGLE,
        help_text="Single choice and true/false have exactly one correct choice; multiple "
        "choice has one or more.",
    )
    term = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="questions",
        help_text="The glossary term the question tests, for per-term analytics.",
    )
    explanation = models.TextField(
        blank=True, help_text="Shown to learners after they submit, whatever they answered."
    )
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Goes up when the prompt, kind, choices or correctness of an answered "
        "question change; answers and statistics stay with the version they were given to.",
    )
    previous = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="next_version",
        help_text="The version this one replaced.",
    )
    retired_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When a newer version replaced this one; a retired version is kept for "
        "the attempts that answered it and is no longer asked.",
    )

    objects = QuestionQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"
        # quiz_id, not quiz: ordering by the relation would join quizzes to sort by title.
        ordering = ["quiz_id", "position", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["quiz", "position"],
                condition=Q(retired_at__isnull=True),
                name="question_position_unique",
                violation_error_message="Another question of this quiz has this position.",
            ),
            models.CheckConstraint(
                condition=~Q(prompt=""),
                name="question_prompt_not_blank",
                violation_error_message="A question needs a prompt.",
            ),
        ]

    @property
    def surrogate_key(self) -> str:
        """A question is public only as part of its quiz: an answer holding it names the
        quiz's key, which every change of the quiz, its questions included, purges."""
        return Quiz.surrogate_key_of(self.quiz_id)

    def __str__(self):
        label = f"{self.position}. {self.prompt[:80]}"
        return label if self.version == 1 else f"{label} (version {self.version})"


def question_shape_errors(kind: str, correct_flags: list[bool]) -> list[ValidationError]:
    """What is wrong with a question of `kind` whose choices are correct per `correct_flags`."""
    errors = []
    correct = sum(correct_flags)
    if len(correct_flags) > MAX_CHOICES:
        errors.append(
            ValidationError(
                f"A question has at most {MAX_CHOICES} choices (it has {len(correct_flags)}).",
                code="too_many",
            )
        )
    if kind == Question.Kind.TRUE_FALSE and len(correct_flags) != 2:
        errors.append(
            ValidationError(
                "A true/false question needs exactly two choices.", code="true_false_choices"
            )
        )
    elif len(correct_flags) < 2:
        errors.append(ValidationError("A question needs at least two choices.", code="too_few"))
    if kind in (Question.Kind.SINGLE, Question.Kind.TRUE_FALSE) and correct != 1:
        label = Question.Kind(kind).label.lower()
        errors.append(
            ValidationError(
                f"A {label} question needs exactly one correct choice (it has {correct}).",
                code="one_correct",
            )
        )
    if kind == Question.Kind.MULTIPLE and correct < 1:
        errors.append(
            ValidationError(
                "A multiple choice question needs at least one correct choice.",
                code="no_correct",
            )
        )
    return errors


def quiz_shape_problems(questions: list[tuple[int, str, list[bool]]]) -> list[str]:
    """Why a quiz whose questions are `questions` ((position, kind, correct flags of the
    choices)) could not be published; empty when it could. Checked on the state a write
    leaves (quizzes.publication_problems) and on the state a form is about to write."""
    if not questions:
        return ["The quiz has no questions."]
    problems = []
    if len(questions) > MAX_QUESTIONS:
        problems.append(f"A quiz has at most {MAX_QUESTIONS} questions (it has {len(questions)}).")
    for position, kind, flags in questions:
        problems += [
            f"Question {position}: {error.message}" for error in question_shape_errors(kind, flags)
        ]
    return problems


class ChoiceQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A choice is visible exactly when its question (in its current version) is."""
        return self.filter(question__in=Question.objects.visible_to(user))


# Choices are known to clients by a random number, not by their primary key, which
# follows authoring order (and so would tell where the first-written, often correct,
# choice is). 2**53 keeps it exact in JavaScript.
PUBLIC_ID_LIMIT = 2**53


def new_public_id() -> int:
    return secrets.randbelow(PUBLIC_ID_LIMIT - 1) + 1


class Choice(StoredTextRules):
    """One answer offered for a question."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    position = models.PositiveIntegerField(help_text="Order of the choice under its question.")
    text = models.CharField(max_length=500, help_text="The answer as learners read it.")
    is_correct = models.BooleanField(
        default=False, help_text="Never shown to learners before they submit."
    )
    pinned = models.BooleanField(
        default=False,
        help_text="Keep this choice at its position when the choices are shuffled (for "
        "“All of the above”, say).",
    )
    public_id = models.BigIntegerField(
        unique=True,
        default=new_public_id,
        editable=False,
        help_text="The random number the API knows the choice by.",
    )

    objects = ChoiceQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"
        # question_id, not question: that would join questions and quizzes to sort.
        ordering = ["question_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["question", "position"],
                name="choice_position_unique",
                violation_error_message="Another choice of this question has this position.",
            ),
            models.CheckConstraint(
                condition=~Q(text=""),
                name="choice_text_not_blank",
                violation_error_message="A choice needs text.",
            ),
        ]

    @property
    def surrogate_key(self) -> str:
        """The key of its question's quiz when the question is at hand (a quiz page's
        choices, whose prefetch sets it), else the key of every quiz: a choice read on
        its own (`node`) is purged by any quiz's change rather than by a query here."""
        if Choice.question.is_cached(self):
            return self.question.surrogate_key
        return Quiz.list_surrogate_key()

    def __str__(self):
        return self.text


class DrawRule(models.Model):
    """A stratum of a quiz's draw: this many questions about a term, or about the terms
    of a chapter, per attempt."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="draw_rules")
    position = models.PositiveIntegerField(default=1, help_text="Rules draw in this order.")
    count = models.PositiveSmallIntegerField(
        default=1, help_text="How many questions to draw per attempt."
    )
    term = models.ForeignKey(
        Term,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Draw from the questions about this term…",
    )
    chapter = models.ForeignKey(
        Chapter,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="…or from the questions about the terms of this chapter.",
    )

    class Meta:
        ordering = ["quiz_id", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(term__isnull=True) ^ Q(chapter__isnull=True),
                name="draw_rule_term_or_chapter",
                violation_error_message="A draw rule names a term or a chapter, not both.",
            ),
            models.CheckConstraint(
                condition=Q(count__gte=1),
                name="draw_rule_count_positive",
                violation_error_message="A draw rule draws at least one question.",
            ),
        ]

    def __str__(self):
        return f"{self.count} about {self.term or self.chapter}"

    def covers(self, question: "Question") -> bool:
        """Whether `question` (its term selected) is in this rule's stratum."""
        if self.term_id is not None:
            return question.term_id == self.term_id
        return question.term is not None and question.term.chapter_id == self.chapter_id


class QuizAttemptQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Attempts at the quizzes `user` may see: an API token's bearer, who is never staff,
        reads those of published quizzes only."""
        return self.filter(quiz__in=Quiz.objects.visible_to(user))

    @staticmethod
    def submitted_between_q(since: datetime.date | None, until: datetime.date | None) -> Q:
        """Submitted on the days `since` to `until`, both included (UTC); either may be None."""
        start, end = day_window(since, until)
        window = Q()
        if start is not None:
            window &= Q(submitted_at__gte=start)
        if end is not None:
            window &= Q(submitted_at__lt=end)
        return window

    def submitted_between(self, since: datetime.date | None, until: datetime.date | None):
        return self.filter(self.submitted_between_q(since, until))


class QuizAttempt(models.Model):
    """One learner's scored submission of a quiz. Written once, never changed."""

    quiz = models.ForeignKey(Quiz, on_delete=models.PROTECT, related_name="attempts")
    client_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="Opaque id the frontend generates per learner; empty when it sends none.",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quiz_attempts",
    )
    idempotency_key = models.CharField(
        max_length=64, help_text="Set by the client; a retry with the same key is not stored twice."
    )
    answers_fingerprint = models.CharField(
        max_length=64, help_text="Digest of the submitted answers, to recognise a true retry."
    )
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="From the attempt token; as the client said without one."
    )
    seed = models.BigIntegerField(
        null=True, blank=True, help_text="The attempt token's seed; empty without a token."
    )
    order = models.JSONField(
        null=True,
        blank=True,
        help_text="The order the attempt was served in: [[question id, [choice ids]], ...].",
    )
    submitted_at = models.DateTimeField(db_index=True)
    duration = models.DurationField(null=True, blank=True)
    score = models.PositiveIntegerField()
    max_score = models.PositiveIntegerField()
    percentage = models.FloatField()
    passed = models.BooleanField()

    objects = QuizAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        indexes = [
            # client_id last: distinct learners in a window come from the index alone.
            models.Index(fields=["quiz", "submitted_at", "client_id"], name="attempt_quiz_time_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["quiz", "client_id", "idempotency_key"], name="attempt_idempotency_unique"
            ),
            # One attempt per attempt token (its seed); token-less attempts have none.
            models.UniqueConstraint(fields=["quiz", "seed"], name="attempt_seed_unique"),
            models.CheckConstraint(
                condition=Q(score__lte=models.F("max_score")), name="attempt_score_at_most_max"
            ),
        ]

    def __str__(self):
        return f"{self.quiz} · {self.score}/{self.max_score} · {self.submitted_at:%Y-%m-%d %H:%M}"


class AttemptAnswer(models.Model):
    """What an attempt answered to one question, and whether it was right."""

    attempt = models.ForeignKey(QuizAttempt, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    selected_choices = models.ManyToManyField(
        Choice, through="AttemptAnswerChoice", related_name="+", blank=True
    )
    is_correct = models.BooleanField()

    class Meta:
        ordering = ["attempt_id", "question__position"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "question"], name="answer_once_per_question")
        ]

    def __str__(self):
        return f"{self.question} · {'right' if self.is_correct else 'wrong'}"


class AttemptAnswerChoice(models.Model):
    answer = models.ForeignKey(AttemptAnswer, on_delete=models.CASCADE)
    choice = models.ForeignKey(Choice, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["answer", "choice"], name="answer_choice_once")
        ]

    def __str__(self):
        return f"{self.answer_id} chose {self.choice_id}"


class SubmissionCounter(models.Model):
    """Submissions from one client address in one time window, for rate limiting."""

    address = models.CharField(max_length=64)
    window_seconds = models.PositiveIntegerField()
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["address", "window_seconds", "window_start"],
                name="submission_counter_unique",
            )
        ]
        indexes = [models.Index(fields=["window_start"], name="submission_counter_start_idx")]

    def __str__(self):
        return f"{self.address}: {self.count} in {self.window_seconds}s from {self.window_start}"
