"""Daily roll-ups of quiz attempts: derived data, defined once in analytics.rollups.

Analytics over any window of days read these few rows instead of millions of answers.
Values are sums, so a window is a SUM over its days (and over the shards of a day: each
day's counters are split over a few rows by attempt id, so that a class submitting one
quiz at once does not queue on one row's lock). They are kept exact in the
transaction that stores or deletes attempts, and `manage.py rollups rebuild` recomputes
them from the attempts; nothing else writes them.

The tables keep the names they had when the quizzes app owned them. Counters are plain
(signed) integers: removing attempts adds their negated aggregate with the same upsert
that adds new ones, and a row whose count reaches zero is deleted.

The analysts' API tokens (`ApiToken`) live here too: they grant analytics reads.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from quizzes.models import Choice, Question, Quiz

SHARD_HELP = (
    "Which of the row's shards (the attempt id modulo the ROLLUP_SHARDS setting): "
    "concurrent submissions of one quiz update different rows. Readers sum over shards."
)


class QuizDay(models.Model):
    """Attempts at one quiz submitted on one day (UTC)."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    shard = models.SmallIntegerField(default=0, db_default=0, help_text=SHARD_HELP)
    attempts = models.IntegerField(default=0, db_default=0)
    passed = models.IntegerField(default=0, db_default=0)
    percentage_sum = models.FloatField(default=0, db_default=0)
    percentage_square_sum = models.FloatField(default=0, db_default=0)
    score_sum = models.BigIntegerField(default=0, db_default=0)
    score_square_sum = models.BigIntegerField(default=0, db_default=0)
    timed = models.IntegerField(default=0, db_default=0, help_text="Attempts with a duration.")
    duration_seconds_sum = models.FloatField(default=0, db_default=0)

    class Meta:
        db_table = "quizzes_quizday"
        constraints = [
            models.UniqueConstraint(fields=["quiz", "day", "shard"], name="quiz_day_shard_unique")
        ]

    def __str__(self):
        return f"{self.quiz_id} on {self.day}"


class QuizDayValue(models.Model):
    """How many attempts of a day had each percentage, each raw score, or each duration in
    whole seconds."""

    class Measure(models.TextChoices):
        PERCENTAGE = "percentage"
        SCORE = "score"
        DURATION = "duration"

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    shard = models.SmallIntegerField(default=0, db_default=0, help_text=SHARD_HELP)
    measure = models.CharField(max_length=16, choices=Measure.choices)
    value = models.FloatField()
    attempts = models.IntegerField(default=0, db_default=0)

    class Meta:
        db_table = "quizzes_quizdayvalue"
        constraints = [
            models.UniqueConstraint(
                fields=["quiz", "day", "measure", "value", "shard"],
                name="quiz_day_value_shard_unique",
            )
        ]

    def __str__(self):
        return f"{self.quiz_id} on {self.day}: {self.measure} {self.value} x{self.attempts}"


class QuestionDay(models.Model):
    """Answers to one question on one day: seen, answered, right, and the attempts' scores."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    shard = models.SmallIntegerField(default=0, db_default=0, help_text=SHARD_HELP)
    seen = models.IntegerField(default=0, db_default=0)
    answered = models.IntegerField(default=0, db_default=0)
    correct = models.IntegerField(default=0, db_default=0)
    score_sum_right = models.BigIntegerField(default=0, db_default=0)
    score_sum_wrong = models.BigIntegerField(default=0, db_default=0)
    score_sum_answered = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "quizzes_questionday"
        constraints = [
            models.UniqueConstraint(
                fields=["question", "day", "shard"], name="question_day_shard_unique"
            )
        ]

    def __str__(self):
        return f"{self.question_id} on {self.day}"


class ChoiceDay(models.Model):
    """Picks of one choice on one day, and the picking attempts' total score."""

    choice = models.ForeignKey(Choice, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    shard = models.SmallIntegerField(default=0, db_default=0, help_text=SHARD_HELP)
    picks = models.IntegerField(default=0, db_default=0)
    score_sum = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "quizzes_choiceday"
        constraints = [
            models.UniqueConstraint(
                fields=["choice", "day", "shard"], name="choice_day_shard_unique"
            )
        ]

    def __str__(self):
        return f"{self.choice_id} on {self.day}"


class ApiToken(models.Model):
    """A personal token an analyst gives a script or tool instead of their password.

    Only a keyed hash of the token is stored (analytics.tokens); the token itself is shown
    once, when it is created. It acts for its owner within its scopes, until it expires or
    is revoked, and only on the API and the exports: never in the admin.
    """

    class Scope(models.TextChoices):
        ANALYTICS_READ = "analytics:read", "analytics:read: quiz analytics and the exports"

    MAX_DAYS = 366

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="Whose permissions the token acts with (never more than its scopes).",
    )
    name = models.CharField(
        max_length=100, help_text="What the token is for, e.g. the script or tool that uses it."
    )
    prefix = models.CharField(
        max_length=16, editable=False, help_text="The token's first characters, to recognise it."
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, help_text="What the token may be used for.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(help_text="The token stops working at this time.")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="api_token_expires_after_creation",
                violation_error_message="A token must expire after it is created.",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def clean(self):
        unknown = set(self.scopes or []) - set(self.Scope.values)
        if unknown or not self.scopes:
            raise ValidationError(
                {"scopes": f"Choose one or more of: {', '.join(self.Scope.values)}."},
                code="invalid_scope",
            )
        if self.expires_at is not None:
            if self.expires_at <= timezone.now():
                raise ValidationError(
                    {"expires_at": "Choose a time in the future."}, code="expired"
                )
            latest = self.created_at + datetime.timedelta(days=self.MAX_DAYS)
            if self.expires_at > latest:
                raise ValidationError(
                    {"expires_at": f"A token lives at most {self.MAX_DAYS} days."},
                    code="too_long",
                )

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"
