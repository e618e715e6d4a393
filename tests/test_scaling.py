"""Past one database server: a transaction pooler (PgBouncer) and streaming read replicas.

The replica tests run against a real streaming replica (`scripts/with_postgres.py
--replica`, as CI runs the suite): they commit, wait for the replica to replay, and
pause its replay to tell the two servers apart.
"""

import json
import socket
import time

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from glossary_backend import routers
from quizzes.models import Question
from terms.models import Status
from tests.quizzes.conftest import gid
from tests.test_settings import run_manage

PRINT_DATABASES = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps({'databases': s.DATABASES, 'routers': s.DATABASE_ROUTERS}, default=str))"
)
TERMS = "{ terms(first: 100) { edges { node { slug } } } }"
SUBMIT = """
mutation Submit($input: SubmitQuizAttemptInput!) {
  submitQuizAttempt(input: $input) { __typename }
}
"""


def configured(**env) -> dict:
    base = {
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://app@127.0.0.1:6432/glossary",
        "DATABASE_POOLER": "",
        "DATABASE_REPLICA_URLS": "",
    }
    result = run_manage("shell", "-c", PRINT_DATABASES, env={**base, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_pooler_setting_turns_off_what_a_transaction_pooler_breaks():
    databases = configured(DATABASE_POOLER="transaction")["databases"]
    options = databases["default"]["OPTIONS"]
    assert databases["default"]["POOLER"] == "transaction"
    assert options["prepare_threshold"] is None
    assert "options" not in options  # PgBouncer refuses startup options
    plain = configured()["databases"]["default"]
    assert "POOLER" not in plain
    assert "statement_timeout" in plain["OPTIONS"]["options"]


def test_pooler_setting_refuses_an_unknown_mode():
    base = {"SECRET_KEY": "x" * 50, "DATABASE_URL": "postgres://app@127.0.0.1/glossary"}
    result = run_manage("check", env={**base, "DATABASE_POOLER": "session"})
    assert result.returncode != 0
    assert 'DATABASE_POOLER must be "transaction" or empty.' in result.stderr


def test_replica_urls_add_replicas_of_the_primary():
    settings = configured(
        DATABASE_REPLICA_URLS="postgres://app@10.0.0.2:5432/glossary,postgres://app@10.0.0.3/glossary"
    )
    databases = settings["databases"]
    assert [alias for alias in databases if alias != "default"] == ["replica1", "replica2"]
    assert databases["replica1"]["HOST"] == "10.0.0.2"
    assert databases["replica2"]["HOST"] == "10.0.0.3"
    assert databases["replica1"]["ENGINE"] == "glossary_backend.postgresql"
    assert databases["replica1"]["REPLICA_OF"] == "default"
    assert databases["replica1"]["OPTIONS"] == databases["default"]["OPTIONS"]
    assert settings["routers"] == ["glossary_backend.routers.ReplicaRouter"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_behind_a_pooler_no_cursor_outlives_its_transaction():
    """Chunked reads use a server-side cursor only inside a transaction (which the pooler
    keeps on one server session), never one declared WITH HOLD."""
    connection.settings_dict["POOLER"] = "transaction"
    try:
        with connection.chunked_cursor() as cursor:
            assert not getattr(cursor.cursor, "name", None)
        with transaction.atomic(), connection.chunked_cursor() as cursor:
            assert cursor.cursor.name
            assert not cursor.cursor.withhold
    finally:
        del connection.settings_dict["POOLER"]


# Streaming replica -----------------------------------------------------------------------

REPLICA = "replica1"
pytestmark_replica = [
    pytest.mark.postgres,
    pytest.mark.replica,
    pytest.mark.django_db(
        transaction=True, serialized_rollback=True, databases=["default", REPLICA]
    ),
]


def replica(test):
    for mark in reversed(pytestmark_replica):
        test = mark(test)
    return test


def caught_up():
    """Wait until the replica has replayed everything the primary committed so far."""
    # The test server commits without waiting for the WAL flush (synchronous_commit=off),
    # so the flushed WAL, all the replica receives, may be short of the last commits until
    # the WAL writer catches up. A commit that waits for its flush carries every earlier
    # one with it; it waits only if its transaction wrote WAL (here a message record).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = on")
        cursor.execute("SELECT pg_logical_emit_message(true, 'caught-up', '')")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_flush_lsn()")
        (position,) = cursor.fetchone()
    deadline = time.monotonic() + 20
    with connections[REPLICA].cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])
            if cursor.fetchone()[0]:
                return
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)


@pytest.fixture
def paused_replica():
    """Pause the replica's replay (after it caught up): what the primary writes next is
    not on the replica until the test ends."""
    caught_up()
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    yield
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_resume()")
    routers._down_until.clear()


def replica_state() -> dict:
    """What the replica holds, for a failure's message."""
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(
            "SELECT pg_last_wal_replay_lsn(), pg_get_wal_replay_pause_state(), "
            "(SELECT array_agg(slug) FROM terms_term)"
        )
        replayed, pause_state, held = cursor.fetchone()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn(), (SELECT array_agg(slug) FROM terms_term)")
        written, primary_held = cursor.fetchone()
    return {"replayed": replayed, "written": written, "pause": pause_state,
            "replica terms": held, "primary terms": primary_held}  # fmt: skip


def slugs(client, **headers) -> set[str]:
    response = client.post("/graphql", {"query": TERMS}, content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    return {edge["node"]["slug"] for edge in response.json()["data"]["terms"]["edges"]}


@pytest.fixture
def chapter_before_pause(make_chapter, make_term):
    chapter = make_chapter()
    make_term(chapter, "Old")
    return chapter


@replica
def test_anonymous_reads_go_to_the_replica_staff_reads_to_the_primary(
    chapter_before_pause, make_term, paused_replica, staff_client
):
    make_term(chapter_before_pause, "New")
    # The replica has not replayed "new" yet.
    assert slugs(Client()) == {"old"}, replica_state()
    assert slugs(staff_client) == {"old", "new"}
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        assert cursor.fetchone() == (True,)


@replica
def test_a_preview_or_the_admin_reads_from_the_primary(
    chapter_before_pause, make_term, paused_replica, staff_client
):
    term = make_term(chapter_before_pause, "Draft", status=Status.DRAFT)
    response = staff_client.get(f"/admin/terms/term/{term.pk}/change/")
    assert response.status_code == 200
    assert b"Draft" in response.content


@replica
def test_a_client_that_wrote_reads_its_writes_from_the_primary(
    chapter_before_pause, make_term, make_quiz, client, settings
):
    quiz = make_quiz([(Question.Kind.SINGLE, [True, False])])
    caught_up()
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        make_term(chapter_before_pause, "New")
        assert slugs(client) == {"old"}
        assert routers.PIN_COOKIE not in client.cookies
        answer = {"question": gid(quiz.questions.get()), "choices": []}
        variables = {"input": {"quiz": gid(quiz), "answers": [answer], "idempotencyKey": "k1"}}
        response = client.post(
            "/graphql",
            {"query": SUBMIT, "variables": variables},
            content_type="application/json",
        )
        assert response.json()["data"]["submitQuizAttempt"]["__typename"] == "QuizAttempt"
        pin = response.cookies[routers.PIN_COOKIE]
        assert pin["max-age"] == settings.DATABASE_REPLICA_PIN_SECONDS
        assert pin["httponly"]
        assert slugs(client) == {"old", "new"}  # pinned to the primary
        del client.cookies[routers.PIN_COOKIE]  # the pin expired
        assert slugs(client) == {"old"}
    finally:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")


@replica
def test_a_mutation_reads_on_the_primary(make_quiz, client):
    """The quiz was created after the replica paused: the submission still finds it."""
    caught_up()
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        quiz = make_quiz([(Question.Kind.SINGLE, [True, False])])
        answer = {"question": gid(quiz.questions.get()), "choices": []}
        variables = {"input": {"quiz": gid(quiz), "answers": [answer], "idempotencyKey": "k2"}}
        response = client.post(
            "/graphql", {"query": SUBMIT, "variables": variables}, content_type="application/json"
        )
        assert response.json()["data"]["submitQuizAttempt"]["__typename"] == "QuizAttempt"
    finally:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")


@replica
def test_when_the_replica_is_down_the_primary_answers(
    chapter_before_pause, make_term, paused_replica, client, monkeypatch
):
    make_term(chapter_before_pause, "New")
    assert slugs(client) == {"old"}
    with socket.socket() as closed:  # a port nothing listens on: the replica is gone
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    replica_connection = connections[REPLICA]
    replica_connection.close()
    monkeypatch.setitem(replica_connection.settings_dict, "PORT", dead_port)
    assert slugs(client) == {"old", "new"}  # from the primary
    assert REPLICA in routers._down_until  # not tried again on every request
    assert slugs(client) == {"old", "new"}
    replica_connection.close()
    monkeypatch.undo()
    routers._down_until.clear()
    assert slugs(client) == {"old"}  # back on the replica
