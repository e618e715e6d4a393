"""Submissions are rate limited per client address, exactly, even under concurrency."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from quizzes.models import Quiz, QuizAttempt
from tests.conftest import QUIZ_FIXTURE, SEED_FIXTURE
from tests.quizzes.conftest import gid
from tests.quizzes.test_submit import SUBMIT


def submit(client, quiz, key, address="10.0.0.1", **headers):
    return client.post(
        "/graphql",
        {
            "query": SUBMIT,
            "variables": {"input": {"quiz": gid(quiz), "answers": [], "idempotencyKey": key}},
        },
        content_type="application/json",
        REMOTE_ADDR=address,
        **headers,
    )


@override_settings(SUBMISSION_RATE_LIMITS=[(60, 3), (3600, 5)])
def test_fourth_submission_in_a_minute_is_rate_limited(seed_quiz, client):
    """Past the limit: 429, Retry-After, RATE_LIMITED with retryAfter, nothing stored."""
    for key in "abc":
        assert submit(client, seed_quiz, key).status_code == 200
    response = submit(client, seed_quiz, "d")
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": retry_after}
    assert (
        error["message"]
        == f"Too many submissions from this address; retry in {retry_after} seconds."
    )
    assert QuizAttempt.objects.count() == 3
    # Another address is not affected.
    assert submit(client, seed_quiz, "e", address="10.0.0.2").status_code == 200


@override_settings(SUBMISSION_RATE_LIMITS=[(60, 100), (3600, 2)])
def test_hourly_limit(seed_quiz, client):
    """The hourly window limits too, and says how long until it ends."""
    submit(client, seed_quiz, "a")
    submit(client, seed_quiz, "b")
    response = submit(client, seed_quiz, "c")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600


@override_settings(SUBMISSION_RATE_LIMITS=[(60, 1), (3600, 100)], TRUSTED_PROXY_COUNT=1)
def test_address_behind_a_trusted_proxy(seed_quiz, client):
    """Behind one trusted proxy, the address it saw (the last forwarded one) counts."""
    first = submit(
        client, seed_quiz, "a", address="10.9.9.9", HTTP_X_FORWARDED_FOR="1.1.1.1, 2.2.2.2"
    )
    assert first.status_code == 200
    spoofed = submit(
        client, seed_quiz, "b", address="10.9.9.9", HTTP_X_FORWARDED_FOR="3.3.3.3, 2.2.2.2"
    )
    assert spoofed.status_code == 429  # the client cannot pick its address by prepending
    other = submit(client, seed_quiz, "c", address="10.9.9.9", HTTP_X_FORWARDED_FOR="4.4.4.4")
    assert other.status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@override_settings(SUBMISSION_RATE_LIMITS=[(60, 5), (3600, 100)])
def test_counter_is_exact_under_concurrency():
    """12 simultaneous submissions from one address: exactly 5 are stored."""
    call_command("loaddata", SEED_FIXTURE, QUIZ_FIXTURE, verbosity=0)
    quiz = Quiz.objects.get()
    barrier = threading.Barrier(12)
    statuses = []

    def run(key):
        try:
            client = Client()
            barrier.wait(timeout=30)
            statuses.append(submit(client, quiz, key).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(f"k{n}",)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] * 5 + [429] * 7
    assert QuizAttempt.objects.count() == 5
