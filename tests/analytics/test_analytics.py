"""Quiz analytics against numbers computed by hand, on SQLite and PostgreSQL alike.

The dataset: four questions (Q1, Q2 single choice with a correct; Q3 multiple choice
with a and b correct; Q4 true/false nobody answers) and five attempts.

    attempt  Q1  Q2  Q3   Q4  score  %   day         client  duration
    A1       a   a   ab   -   3      75  2026-11-01  x       60 s
    A2       a   b   ab   -   2      50  2026-11-01  x       60 s
    A3       b   a   a    -   1      25  2026-11-02  y       120 s
    A4       a   c   c    -   1      25  2026-11-02  (none)  300 s
    A5       c   -   ab   -   1      25  2026-11-02  z       600 s

Scores 3, 2, 1, 1, 1: mean 1.6, population variance 0.64, population sd 0.8.
Q5 is added after the attempts, so no attempt saw it.
"""

import datetime
import math

import pytest

from analytics.statistics import quiz_analytics, terms_by_misses
from quizzes.models import Question
from terms.models import Term

SINGLE, MULTIPLE, TRUE_FALSE = (
    Question.Kind.SINGLE,
    Question.Kind.MULTIPLE,
    Question.Kind.TRUE_FALSE,
)


def test_summary(graded):
    """Counts, central tendency, spread, pass rate, durations, histogram and days."""
    summary = quiz_analytics(quiz=graded).summary
    assert (summary.attempts, summary.distinct_clients) == (5, 3)
    assert summary.mean_percentage == pytest.approx(40.0)
    assert summary.median_percentage == pytest.approx(25.0)
    # deviations 35, 10, -15, -15, -15: squares sum to 2000, / (5 - 1)
    assert summary.stddev_percentage == pytest.approx(math.sqrt(500))
    assert summary.pass_rate == pytest.approx(0.2)  # only 75% reaches the 70% bar
    assert summary.mean_duration_seconds == pytest.approx(228.0)
    assert summary.median_duration_seconds == pytest.approx(120.0)
    assert [(b.low, b.high, b.attempts) for b in summary.histogram] == [
        (0, 10, 0), (10, 20, 0), (20, 30, 3), (30, 40, 0), (40, 50, 0),
        (50, 60, 1), (60, 70, 0), (70, 80, 1), (80, 90, 0), (90, 100, 0),
    ]  # fmt: skip
    assert [(d.day, d.attempts, d.mean_percentage) for d in summary.per_day] == [
        (datetime.date(2026, 11, 1), 2, pytest.approx(62.5)),
        (datetime.date(2026, 11, 2), 3, pytest.approx(25.0)),
    ]


def test_item_analysis(graded):
    """Facility, point-biserial discrimination and the choice flags per question."""
    stats = {q.position: q for q in quiz_analytics(quiz=graded).questions}
    sqrt_pq = math.sqrt(0.6 * 0.4)

    q1 = stats[1]  # right: A1 A2 A4 (scores 3 2 1, mean 2); wrong: A3 A5 (mean 1)
    assert (q1.seen, q1.answered, q1.correct, q1.facility) == (5, 5, 3, pytest.approx(0.6))
    assert q1.discrimination == pytest.approx((2 - 1) / 0.8 * sqrt_pq)
    assert [(c.picks, c.pick_share) for c in q1.choices] == [(3, 0.6), (1, 0.2), (1, 0.2)]
    assert not any(c.attracts_strong_learners or c.rarely_picked for c in q1.choices)

    q2 = stats[2]  # right: A1 A3 (mean 2); wrong: A2 A4 A5 (mean 4/3); A5 left it blank
    assert (q2.seen, q2.answered, q2.correct, q2.facility) == (5, 4, 2, pytest.approx(0.4))
    assert q2.discrimination == pytest.approx((2 - 4 / 3) / 0.8 * sqrt_pq)
    assert [(c.picks, c.pick_share) for c in q2.choices] == [(2, 0.5), (1, 0.25), (1, 0.25)]
    # b was picked by A2 (score 2), the others who answered averaged (3 + 1 + 1) / 3
    assert [c.attracts_strong_learners for c in q2.choices] == [False, True, False]

    q3 = stats[3]  # right: A1 A2 A5 (mean 2); wrong: A3 A4 (mean 1)
    assert (q3.facility, q3.discrimination) == (
        pytest.approx(0.6),
        pytest.approx((2 - 1) / 0.8 * sqrt_pq),
    )
    assert [c.picks for c in q3.choices] == [4, 3, 1]

    q4 = stats[4]  # seen by all, answered by none: facility 0, no discrimination
    assert (q4.seen, q4.answered, q4.facility, q4.discrimination) == (5, 0, 0.0, None)
    assert [(c.picks, c.pick_share, c.rarely_picked) for c in q4.choices] == [
        (0, None, False),
        (0, None, False),
    ]
    assert q4.weak

    q5 = stats[5]  # added after the attempts
    assert (q5.seen, q5.facility, q5.discrimination, q5.weak) == (0, None, None, False)


def test_reliability(graded):
    """KR-20 over the four questions with answers: 4/3 x (1 - 0.72 / 0.64)."""
    reliability = quiz_analytics(quiz=graded).reliability
    assert (reliability.attempts, reliability.questions) == (5, 4)
    assert reliability.kr20 == pytest.approx(4 / 3 * (1 - (0.24 * 3) / 0.64))


def test_most_missed_terms(graded):
    """LoRA (Q1, Q2): 5 misses in 10 answers; PEFT (Q3): 2 in 5."""
    missed = quiz_analytics(quiz=graded).most_missed_terms
    assert [(t.slug, t.answers, t.misses, t.miss_rate) for t in missed] == [
        ("lora", 10, 5, 0.5),
        ("peft", 5, 2, 0.4),
    ]
    ranked = terms_by_misses(Term.objects.all())
    assert [(t.slug, t.answer_count, t.miss_count, t.miss_rate) for t in ranked] == [
        ("lora", 10, 5, 0.5),
        ("peft", 5, 2, 0.4),
    ]


def test_date_window(graded):
    """since/until keep the attempts of the days between, both included."""
    second_day = quiz_analytics(quiz=graded, since=datetime.date(2026, 11, 2))
    assert second_day.summary.attempts == 3
    assert second_day.summary.mean_percentage == pytest.approx(25.0)
    first_day = quiz_analytics(quiz=graded, until=datetime.date(2026, 11, 1))
    assert first_day.summary.attempts == 2
    assert first_day.questions[0].facility == pytest.approx(1.0)
    both = quiz_analytics(
        quiz=graded, since=datetime.date(2026, 11, 1), until=datetime.date(2026, 11, 2)
    )
    assert both.summary.attempts == 5


def test_quiz_without_attempts(make_quiz):
    """No attempts: zero counts, null statistics, empty buckets, no error."""
    quiz = make_quiz([(SINGLE, [True, False])])
    analytics = quiz_analytics(quiz=quiz)
    summary = analytics.summary
    assert (summary.attempts, summary.distinct_clients, summary.pass_rate) == (0, 0, None)
    assert (summary.mean_percentage, summary.median_percentage, summary.stddev_percentage) == (
        None,
        None,
        None,
    )
    assert sum(b.attempts for b in summary.histogram) == 0
    assert summary.per_day == []
    assert (analytics.questions[0].seen, analytics.questions[0].facility) == (0, None)
    assert (analytics.reliability.kr20, analytics.reliability.attempts) == (None, 0)
    assert analytics.most_missed_terms == []
