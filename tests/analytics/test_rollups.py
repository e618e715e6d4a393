"""The roll-ups have one definition: kept incrementally, rebuilt and verified alike."""

import datetime
import importlib
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.models import ChoiceDay, QuestionDay, QuizDay, QuizDayValue
from analytics.rollups import ROLLUPS, rollups_differences, rollups_rebuild
from quizzes.models import QuizAttempt
from quizzes.services import AnswerInput, attempt_submit, attempts_delete
from tests.quizzes.conftest import MULTIPLE, SINGLE, TRUE_FALSE

NOON = datetime.datetime(2026, 11, 2, 12, tzinfo=datetime.UTC)


@pytest.fixture
def quiz(make_quiz):
    return make_quiz(
        [
            (SINGLE, [True, False, False]),
            (MULTIPLE, [True, True, False]),
            (TRUE_FALSE, [False, True]),
        ]
    )


def submit(quiz, key, picks, *, now=NOON, seconds=None, client_id=""):
    """picks: per question position, the positions of the chosen choices."""
    answers = []
    for question in quiz.questions.prefetch_related("choices"):
        chosen = picks.get(question.position)
        if chosen is not None:
            ids = [c.pk for c in question.choices.all() if c.position in chosen]
            answers.append(AnswerInput(question.pk, ids))
    started = None if seconds is None else now - datetime.timedelta(seconds=seconds)
    return attempt_submit(
        quiz_id=quiz.pk,
        answers=answers,
        idempotency_key=key,
        client_id=client_id,
        started_at=started,
        now=now,
    )


def snapshot() -> dict:
    """Every roll-up row, by table and key."""
    return {
        rollup.name: {
            row[: len(rollup.keys)]: row[len(rollup.keys) :]
            for row in rollup.stored(None).values_list(*rollup.keys, *rollup.counters)
        }
        for rollup in ROLLUPS
    }


def summed(model, keys, counters, **filters) -> list[tuple]:
    """A roll-up table's rows summed over the shards of each key, in key order."""
    return [
        tuple(row[key] for key in keys) + tuple(row[f"sum_{c}"] for c in counters)
        for row in model.objects.filter(**filters)
        .values(*keys)
        .annotate(**{f"sum_{c}": Sum(c) for c in counters})
        .order_by(*keys)
    ]


def over_shards(rows: dict) -> dict:
    """A snapshot with each table's rows summed over the shards of each key."""
    result = {}
    for name, table in rows.items():
        sums = {}
        for key, values in table.items():
            previous = sums.get(key[:-1])
            sums[key[:-1]] = (
                values if previous is None else tuple(map(sum, zip(previous, values, strict=True)))
            )
        result[name] = sums
    return result


def test_one_key_spreads_over_shards_by_attempt_id(quiz, settings):
    """Attempts of one quiz on one day land in the shard of their id: concurrent
    submissions mostly update different rows, and every shard holds whole attempts.
    Changing the number of shards keeps every sum; a rebuild spreads the rows anew."""
    shards = settings.ROLLUP_SHARDS
    attempts = [submit(quiz, str(key), {1: [1]}) for key in range(shards + 2)]
    rows = dict(QuizDay.objects.values_list("shard", "attempts"))
    assert rows == {
        shard: sum(1 for a in attempts if a.pk % shards == shard) for shard in range(shards)
    }
    assert set(QuestionDay.objects.values_list("shard", flat=True)) == set(range(shards))
    assert rollups_differences() == []
    settings.ROLLUP_SHARDS = 3
    submit(quiz, "more", {1: [1]})
    assert rollups_differences() == []
    rollups_rebuild()
    assert set(QuizDay.objects.values_list("shard", flat=True)) == {0, 1, 2}
    assert sum(QuizDay.objects.values_list("attempts", flat=True)) == shards + 3
    assert rollups_differences() == []


def assert_same(incremental: dict, rebuilt: dict):
    assert incremental.keys() == rebuilt.keys()
    for name, rows in rebuilt.items():
        assert incremental[name].keys() == rows.keys(), name
        for key, values in rows.items():
            assert incremental[name][key] == pytest.approx(values, rel=1e-9, abs=1e-6), (
                name,
                key,
            )


def test_rows_as_hand_computed(quiz):
    """Two attempts on one day, one the next: every table's rows, durations rounded half
    up (2.5 s counts as 3, 1.5 s as 2) on SQLite and PostgreSQL alike."""
    submit(quiz, "a", {1: [1], 2: [1, 2], 3: [2]}, seconds=2.5)  # all right
    submit(quiz, "b", {1: [2], 3: [1]}, now=NOON + datetime.timedelta(hours=1), seconds=1.5)
    submit(quiz, "c", {}, now=NOON + datetime.timedelta(days=1))
    day, next_day = NOON.date(), NOON.date() + datetime.timedelta(days=1)
    assert summed(
        QuizDay,
        ["day"],
        ["attempts", "passed", "percentage_sum", "score_sum", "score_square_sum", "timed"],
    ) == [(day, 2, 1, 100.0, 3, 9, 2), (next_day, 1, 0, 0.0, 0, 0, 0)]
    assert summed(QuizDay, ["day"], ["duration_seconds_sum"], day=day)[0][1] == pytest.approx(4.0)
    assert summed(QuizDayValue, ["day", "measure", "value"], ["attempts"]) == [
        (day, "duration", 2.0, 1),
        (day, "duration", 3.0, 1),
        (day, "percentage", 0.0, 1),
        (day, "percentage", 100.0, 1),
        (day, "score", 0.0, 1),
        (day, "score", 3.0, 1),
        (next_day, "percentage", 0.0, 1),
        (next_day, "score", 0.0, 1),
    ]
    first = quiz.questions.get(position=1)
    assert summed(
        QuestionDay,
        ["day"],
        ["seen", "answered", "correct", "score_sum_right", "score_sum_wrong", "score_sum_answered"],
        question=first,
    ) == [(day, 2, 2, 1, 3, 0, 3), (next_day, 1, 0, 0, 0, 0, 0)]
    assert summed(
        ChoiceDay, ["choice__position", "day"], ["picks", "score_sum"], choice__question=first
    ) == [(1, day, 1, 3), (2, day, 1, 0)]


attempt_strategy = st.fixed_dictionaries(
    {
        "picks": st.fixed_dictionaries(
            {},
            optional={
                1: st.sampled_from([[], [1], [2], [3]]),
                2: st.lists(st.sampled_from([1, 2, 3]), unique=True, max_size=3),
                3: st.sampled_from([[], [1], [2]]),
            },
        ),
        "day": st.integers(0, 3),
        "second": st.integers(0, 86_399),
        "half_seconds": st.none() | st.integers(0, 1_200),
        "client": st.sampled_from(["", "x", "y"]),
        "delete": st.booleans(),
    }
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=st.lists(attempt_strategy, max_size=12))
def test_incremental_equals_rebuild_after_random_history(quiz, staff, history):
    """Random attempts through the submission service, some deleted through the admin:
    the incrementally kept roll-ups equal a rebuild, and `rollups verify` passes."""
    savepoint = transaction.savepoint()
    try:
        admin = Client()
        admin.force_login(staff)
        doomed = []
        for number, attempt in enumerate(history):
            now = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC) + datetime.timedelta(
                days=attempt["day"], seconds=attempt["second"]
            )
            seconds = attempt["half_seconds"] / 2 if attempt["half_seconds"] is not None else None
            stored = submit(
                quiz,
                f"k{number}",
                attempt["picks"],
                now=now,
                seconds=seconds,
                client_id=attempt["client"],
            )
            if attempt["delete"]:
                doomed.append(stored.pk)
        if doomed:
            response = admin.post(
                reverse("admin:quizzes_quizattempt_changelist"),
                {"action": "delete_selected", "_selected_action": doomed, "post": "yes"},
            )
            assert response.status_code == 302
        assert QuizAttempt.objects.count() == len(history) - len(doomed)
        assert rollups_differences() == []
        incremental = snapshot()
        rollups_rebuild()
        assert_same(incremental, snapshot())
        call_command("rollups", "verify", stdout=StringIO())
    finally:
        transaction.savepoint_rollback(savepoint)


def test_verify_names_the_first_differences(quiz):
    """A tampered counter and a lost row make verify fail, naming both; rebuild repairs."""
    submit(quiz, "a", {1: [1]})
    submit(quiz, "b", {1: [2]}, now=NOON + datetime.timedelta(days=1))
    QuizDay.objects.filter(day=NOON.date()).update(attempts=5)
    QuestionDay.objects.filter(day=NOON.date(), question__position=2).delete()
    errors = StringIO()
    with pytest.raises(CommandError, match="The roll-ups differ"):
        call_command("rollups", "verify", stderr=errors)
    question = quiz.questions.get(position=2)
    assert errors.getvalue().splitlines() == [
        f"quiz days ({quiz.pk}, {NOON.date()}): attempts is 5, expected 1",
        f"question days ({question.pk}, {NOON.date()}): row is missing, expected (1, 0, 0, 1)",
    ]
    output = StringIO()
    call_command("rollups", "rebuild", stdout=output)
    assert output.getvalue().startswith("Rebuilt the roll-ups from 2 attempts in ")
    output = StringIO()
    call_command("rollups", "verify", stdout=output)
    assert output.getvalue() == "The roll-ups match the 2 attempts.\n"


def test_rebuild_one_quiz_leaves_the_others(quiz, make_quiz):
    """--quiz rebuilds that quiz's rows only; an unknown slug is refused."""
    other = make_quiz([(SINGLE, [True, False])], slug="other")
    submit(quiz, "a", {1: [1]})
    submit(other, "b", {1: [1]})
    QuizDay.objects.update(passed=7)
    call_command("rollups", "rebuild", quiz="quiz", stdout=StringIO())
    assert dict(QuizDay.objects.values_list("quiz__slug", "passed")) == {"quiz": 0, "other": 7}
    with pytest.raises(CommandError, match=r"No quiz with slug 'nope'\."):
        call_command("rollups", "rebuild", quiz="nope")


def test_deleting_attempts_keeps_the_rollups_exact(quiz):
    """attempts_delete subtracts exactly, and rows left without attempts go."""
    submit(quiz, "a", {1: [1]}, seconds=10)
    doomed = submit(quiz, "b", {1: [2], 2: [3]}, seconds=20)
    late = submit(quiz, "c", {1: [1]}, now=NOON + datetime.timedelta(days=2))
    assert attempts_delete(queryset=QuizAttempt.objects.filter(pk__in=[doomed.pk, late.pk])) == 2
    assert list(QuizDay.objects.values_list("attempts", "timed")) == [(1, 1)]
    assert not QuizDayValue.objects.filter(value=20).exists()
    assert not ChoiceDay.objects.filter(choice__question__position=2).exists()
    assert rollups_differences() == []


def test_the_data_migration_fills_the_rollups_from_existing_attempts(quiz):
    """Analytics 0004's frozen statements, with 0005's for raw scores, compute what the
    live definition does."""
    submit(quiz, "a", {1: [1], 2: [1, 2]}, seconds=61.5)
    submit(quiz, "b", {3: [2]}, now=NOON + datetime.timedelta(days=3))
    expected = snapshot()
    QuizDay.objects.all().delete()
    ChoiceDay.objects.update(picks=9)
    migration = importlib.import_module("analytics.migrations.0004_fill_rollups")
    # The keys 0004's statements upsert on, before 0007 added the shard to them (the
    # deferred foreign-key checks run first: PostgreSQL indexes no table with pending ones).
    connection.check_constraints()
    with connection.cursor() as cursor:
        for table, keys in [
            ("quizzes_quizday", "quiz_id, day"),
            ("quizzes_quizdayvalue", "quiz_id, day, measure, value"),
            ("quizzes_questionday", "question_id, day"),
            ("quizzes_choiceday", "choice_id, day"),
        ]:
            cursor.execute(f"CREATE UNIQUE INDEX {table}_0004 ON {table} ({keys})")
    migration.fill_rollups(None, SimpleNamespace(connection=connection))
    assert not QuizDayValue.objects.filter(measure="score").exists()
    scores = importlib.import_module("analytics.migrations.0005_score_values")
    scores.fill_scores(None, SimpleNamespace(connection=connection))
    # 0004 and 0005 wrote every key into one row (shard 0, before 0007 added shards): the
    # same sums.
    assert_same(over_shards(snapshot()), over_shards(expected))
    assert rollups_differences() == []
