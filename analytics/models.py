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
"""

from django.db import models

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
    """How many attempts of a day had each percentage, or each duration in whole seconds."""

    class Measure(models.TextChoices):
        PERCENTAGE = "percentage"
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
