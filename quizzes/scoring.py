"""Scoring, decided once: whether a question was answered right, and what an attempt scores.

Pure functions of ids and flags, no database: the submission service, the demo data
generator and the benchmark's data (whose SQL is tested against these) all score with
them, so a stored attempt means the same whichever path wrote it.
"""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class AttemptScore:
    score: int
    max_score: int
    percentage: float
    passed: bool


def question_correct(selected_choice_ids: Iterable[int], correct_choice_ids: Iterable[int]) -> bool:
    """Right exactly when the selected choices are the correct ones, no more, no fewer;
    nothing selected is wrong (every question has a correct choice)."""
    return set(selected_choice_ids) == set(correct_choice_ids)


def attempt_score(results: Iterable[bool], *, pass_percentage: int) -> AttemptScore:
    """One point per right question out of one per question of the quiz (questions left
    out count as wrong results); the percentage rounded to two decimals, passed when it
    reaches `pass_percentage`."""
    results = list(results)
    score, max_score = sum(results), len(results)
    percentage = round(100 * score / max_score, 2) if max_score else 0.0
    return AttemptScore(
        score=score,
        max_score=max_score,
        percentage=percentage,
        passed=percentage >= pass_percentage,
    )
