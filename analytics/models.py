"""Daily roll-ups of quiz attempts: derived data, defined once in analytics.rollups.

Analytics over any window of days read these few rows instead of millions of answers.
Values are sums, so a window is a SUM over its days. They are kept exact in the
transaction that stores or deletes attempts, and `manage.py rollups rebuild` recomputes
them from the attempts; nothing else writes them.

The tables keep the names they had when the quizzes app owned them. Counters are plain
(signed) integers: removing attempts adds their negated aggregate with the same upsert
that adds new ones, and a row whose count reaches zero is deleted.
"""

from django.db import models

from quizzes.models import Choice, Question, Quiz


class QuizDay(models.Model):
    """Attempts at one quiz submitted on one day (UTC)."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
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
        constraints = [models.UniqueConstraint(fields=["quiz", "day"], name="quiz_day_unique")]

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
    measure = models.CharField(max_length=16, choices=Measure.choices)
    value = models.FloatField()
    attempts = models.IntegerField(default=0, db_default=0)

    class Meta:
        db_table = "quizzes_quizdayvalue"
        constraints = [
            models.UniqueConstraint(
                fields=["quiz", "day", "measure", "value"], name="quiz_day_value_unique"
            )
        ]

    def __str__(self):
        return f"{self.quiz_id} on {self.day}: {self.measure} {self.value} x{self.attempts}"


class QuestionDay(models.Model):
    """Answers to one question on one day: seen, answered, right, and the attempts' scores."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    seen = models.IntegerField(default=0, db_default=0)
    answered = models.IntegerField(default=0, db_default=0)
    correct = models.IntegerField(default=0, db_default=0)
    score_sum_right = models.BigIntegerField(default=0, db_default=0)
    score_sum_wrong = models.BigIntegerField(default=0, db_default=0)
    score_sum_answered = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "quizzes_questionday"
        constraints = [
            models.UniqueConstraint(fields=["question", "day"], name="question_day_unique")
        ]

    def __str__(self):
        return f"{self.question_id} on {self.day}"


class ChoiceDay(models.Model):
    """Picks of one choice on one day, and the picking attempts' total score."""

    choice = models.ForeignKey(Choice, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    picks = models.IntegerField(default=0, db_default=0)
    score_sum = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "quizzes_choiceday"
        constraints = [models.UniqueConstraint(fields=["choice", "day"], name="choice_day_unique")]

    def __str__(self):
        return f"{self.choice_id} on {self.day}"
