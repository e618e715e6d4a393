"""SQLite served for real: WAL, statistics after loads, concurrent writers that queue."""

import json
import sqlite3
import subprocess
import sys
import threading
import uuid
from http.client import HTTPConnection

import pytest
from django.conf import settings
from strawberry.relay import to_base64

from bench.server import gunicorn, production_env
from tests.conftest import ON_POSTGRES, QUIZ_FIXTURE, SEED_FIXTURE

pytestmark = pytest.mark.skipif(
    ON_POSTGRES, reason="about the SQLite database (this run is on PostgreSQL)"
)

SUBMIT = """
mutation Submit($input: SubmitQuizAttemptInput!) {
  submitQuizAttempt(input: $input) { __typename ... on QuizAttempt { score maxScore } }
}
"""


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """A SQLite file migrated and seeded by the commands `make run` uses."""
    path = tmp_path_factory.mktemp("sqlite") / "glossary.sqlite3"
    env = production_env(f"sqlite:///{path}")
    for command in (["migrate", "-v0"], ["load_seed", str(SEED_FIXTURE), str(QUIZ_FIXTURE)]):
        subprocess.run(
            [sys.executable, "manage.py", *command], env=env, cwd=settings.BASE_DIR, check=True,
            capture_output=True,
        )  # fmt: skip
    return path, env


def test_the_file_is_in_wal_mode_with_planner_statistics(database):
    """Migrating switched the file to WAL, and loading gave the planner statistics."""
    path, _ = database
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        analysed = {table for (table,) in connection.execute("SELECT tbl FROM sqlite_stat1")}
    assert {"terms_term", "terms_termrelation", "terms_searchword"} <= analysed


def test_each_connection_is_tuned(db):
    """Every connection Django opens syncs NORMAL and writes in IMMEDIATE transactions."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone() == (1,)  # NORMAL
    assert connection.transaction_mode == "IMMEDIATE"


def test_concurrent_submissions_under_gunicorn_all_succeed(database):
    """8 submissions at once to 4 workers: none fails with "database is locked"."""
    _, env = database
    answers = [
        {"question": to_base64("Question", question), "choices": [to_base64("Choice", choice)]}
        for question, choice in first_choices()
    ]
    barrier = threading.Barrier(8)
    outcomes = [None] * 8

    def submit(index, port):
        body = json.dumps(
            {
                "query": SUBMIT,
                "variables": {
                    "input": {
                        "quiz": to_base64("Quiz", 1),
                        "idempotencyKey": uuid.uuid4().hex,
                        "answers": answers,
                    }
                },
            }
        )
        connection = HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        connection.request("POST", "/graphql", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        outcomes[index] = (response.status, json.loads(response.read()))

    with gunicorn(env, workers=4) as port:
        threads = [threading.Thread(target=submit, args=(n, port)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    expected = {
        # The first-written choices are right for 5 of the 14 questions.
        "data": {"submitQuizAttempt": {"__typename": "QuizAttempt", "score": 5, "maxScore": 14}},
        "extensions": {"cost": 4},
    }
    assert outcomes == [(200, expected)] * 8


def first_choices() -> list[tuple[int, int]]:
    """(question, the public id of its first-written choice) of the seed quiz, from the
    fixture."""
    objects = json.loads(QUIZ_FIXTURE.read_text())
    first = {}
    for item in objects:
        if item["model"] == "quizzes.choice" and item["fields"]["position"] == 1:
            first[item["fields"]["question"]] = item["fields"]["public_id"]
    return sorted(first.items())
