"""The production server the README prescribes (gunicorn, WSGI) streams exports."""

import http.client
import os

import pytest
from django.conf import settings
from django.db import connection

from bench.server import gunicorn, production_env
from quizzes.listeners import AttemptChange, attempts_changed
from quizzes.models import Question, QuizAttempt

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_exports_stream_under_gunicorn(make_quiz, client, staff):
    """The response is chunked (no Content-Length) and carries every row."""
    quiz = make_quiz([(Question.Kind.SINGLE, [True, False])])
    QuizAttempt.objects.bulk_create(
        QuizAttempt(quiz=quiz, idempotency_key=str(n), answers_fingerprint="",
                    submitted_at="2026-01-01T00:00:00Z", score=1, max_score=1,
                    percentage=100.0, passed=True)
        for n in range(20_000)
    )  # fmt: skip
    # A bulk load tells the listeners, as the services do, so the roll-ups stay exact.
    attempts_changed(list(QuizAttempt.objects.values_list("pk", flat=True)), AttemptChange.STORED)
    client.force_login(staff)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    # The test's own key: the session it logged in with is signed with it.
    # The same server as the suite's, so behind the same pooler and beside the same replicas.
    same_server = {
        name: os.environ[name]
        for name in ("DATABASE_POOLER", "DATABASE_REPLICA_URLS")
        if name in os.environ
    }
    env = production_env(database_url(), SECRET_KEY=settings.SECRET_KEY, **same_server)
    with gunicorn(env) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/exports/attempts.csv", headers={"Cookie": f"sessionid={session}"})
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Transfer-Encoding") == "chunked"
        assert response.getheader("Content-Length") is None
        first = response.read1(65536)
        assert first.startswith(b"attempt_id,attempt_global_id,quiz_id,")
        rest = response.read()
        conn.close()
    assert (first + rest).count(b"\n") == 20_001
