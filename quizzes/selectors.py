"""Reads of quiz data that span relations: what GraphQL and the admin show of attempts."""

from django.db.models import Prefetch

from quizzes.models import AttemptAnswer, Choice, QuizAttempt
from terms.models import Term


def attempt_with_results(*, attempt_id: int, user) -> QuizAttempt:
    """The attempt with its quiz and, per question in quiz order, the answer given, the
    question's choices and its term (None when `user` may not see the term), fetched in
    a fixed number of queries."""
    answers = (
        AttemptAnswer.objects.select_related("question")
        .order_by("question__position")
        .prefetch_related(
            "selected_choices",
            "question__choices",
            Prefetch("question__term", queryset=Term.objects.visible_to(user)),
        )
    )
    return (
        QuizAttempt.objects.select_related("quiz")
        .prefetch_related(Prefetch("answers", queryset=answers))
        .get(pk=attempt_id)
    )


def choice_pks(public_ids: list[int]) -> dict[int, int]:
    """Primary key per public id, for the public ids of existing choices (no query when
    there are none)."""
    if not public_ids:
        return {}
    return dict(Choice.objects.filter(public_id__in=set(public_ids)).values_list("public_id", "pk"))
