"""Exports of attempts, answers and item analysis: HTTP, command and admin action."""

import csv
import datetime
import io
import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from strawberry.relay import to_base64

from analytics.exports import BOM, export_chunks
from analytics.models import ApiToken
from analytics.tokens import api_token_create
from quizzes.listeners import AttemptChange, attempts_changed
from quizzes.models import Choice, Question, Quiz, QuizAttempt
from terms.models import Term
from tests.analytics.conftest import drop_scopes, expire

ATTEMPT_COLUMNS = [
    "attempt_id", "attempt_global_id", "quiz_id", "quiz_global_id", "quiz", "client_id",
    "started_at", "submitted_at", "duration_seconds", "score", "max_score", "percentage",
    "passed",
]  # fmt: skip


NOT_A_CHOICE = "Select a valid choice. That choice is not one of the available choices."


FULL_WIDTH_YEAR = "\uff12\uff10\uff12\uff16"


def bad_input(errors: dict[str, list[str]]) -> dict:
    """The API's error body for bad query parameters: one coded error per message."""
    return {
        "errors": [
            {
                "message": f"{name}: {message}",
                "extensions": {"code": "BAD_USER_INPUT", "argument": name},
            }
            for name, messages in errors.items()
            for message in messages
        ]
    }


def read(response) -> bytes:
    assert response.streaming
    return b"".join(response.streaming_content)


def parse_csv(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def parse_jsonl(content: bytes) -> list[dict]:
    return [json.loads(line) for line in content.decode().splitlines()]


def test_attempts_csv(graded, analyst_client):
    """One row per attempt, oldest first: ids beside global IDs, UTC times to the second."""
    response = analyst_client.get("/exports/attempts.csv", {"quiz": "quiz"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="attempts-quiz-')
    content = read(response)
    assert not content.startswith(BOM)
    assert b"\r\n" not in content
    rows = parse_csv(content)
    assert list(rows[0]) == ATTEMPT_COLUMNS
    attempts = list(QuizAttempt.objects.order_by("pk"))
    assert rows[0] == {
        "attempt_id": str(attempts[0].pk),
        "attempt_global_id": to_base64("QuizAttempt", attempts[0].pk),
        "quiz_id": str(graded.pk),
        "quiz_global_id": to_base64("Quiz", graded.pk),
        "quiz": "quiz",
        "client_id": "x",
        "started_at": "2026-11-01T12:00:00Z",
        "submitted_at": "2026-11-01T12:01:00Z",
        "duration_seconds": "60",
        "score": "3",
        "max_score": "4",
        "percentage": "75",
        "passed": "true",
    }
    assert [row["attempt_id"] for row in rows] == [str(a.pk) for a in attempts]
    assert [(row["client_id"], row["score"], row["percentage"], row["passed"]) for row in rows] == [
        ("x", "3", "75", "true"),
        ("x", "2", "50", "false"),
        ("y", "1", "25", "false"),
        ("", "1", "25", "false"),
        ("z", "1", "25", "false"),
    ]
    assert rows[4]["duration_seconds"] == "600"


def test_attempts_jsonl_matches_csv(graded, analyst_client):
    """JSON Lines carries the same rows, typed."""
    rows = parse_jsonl(read(analyst_client.get("/exports/attempts.jsonl")))
    assert len(rows) == 5
    first = QuizAttempt.objects.order_by("pk").first()
    assert rows[0] == {
        "attempt_id": first.pk,
        "attempt_global_id": to_base64("QuizAttempt", first.pk),
        "quiz_id": graded.pk,
        "quiz_global_id": to_base64("Quiz", graded.pk),
        "quiz": "quiz",
        "client_id": "x",
        "started_at": "2026-11-01T12:00:00Z",
        "submitted_at": "2026-11-01T12:01:00Z",
        "duration_seconds": 60,
        "score": 3,
        "max_score": 4,
        "percentage": 75,
        "passed": True,
    }


@pytest.mark.parametrize("dataset", ["attempts", "answers", "questions", "choices"])
def test_csv_and_jsonl_agree_on_every_value(graded, analyst_client, dataset):
    """Parsed, the two formats hold the same text for every cell (numbers as written)."""
    QuizAttempt.objects.filter(client_id="x").update(client_id='Zoë, "quoted"\nnext')
    csv_rows = parse_csv(read(analyst_client.get(f"/exports/{dataset}.csv")))
    json_rows = [
        json.loads(line, parse_float=str, parse_int=str)
        for line in read(analyst_client.get(f"/exports/{dataset}.jsonl")).decode().splitlines()
    ]
    assert len(csv_rows) == len(json_rows) > 0
    separators = {"choice_texts": " | "}
    for csv_row, json_row in zip(csv_rows, json_rows, strict=True):
        assert list(csv_row) == list(json_row)
        as_text = {
            key: (
                separators.get(key, " ").join(value) if isinstance(value, list)
                else "" if value is None
                else str(value).lower() if isinstance(value, bool)
                else value
            )
            for key, value in json_row.items()
        }  # fmt: skip
        assert csv_row == as_text


def test_answers_export_lists_chosen_choices(graded, analyst_client):
    """One row per attempt and question, with the ids of the chosen choices."""
    rows = parse_jsonl(read(analyst_client.get("/exports/answers.jsonl", {"quiz": "quiz"})))
    assert len(rows) == 5 * 4
    first_attempt = [row for row in rows if row["attempt_id"] == rows[0]["attempt_id"]]
    q3 = Question.objects.get(position=3)
    assert [(r["question_position"], r["term"], r["is_correct"]) for r in first_attempt] == [
        (1, "lora", True),
        (2, "lora", True),
        (3, "peft", True),
        (4, None, False),
    ]
    assert first_attempt[2]["choice_ids"] == sorted(
        q3.choices.filter(is_correct=True).values_list("pk", flat=True)
    )
    assert first_attempt[3]["choice_ids"] == []
    attempt = QuizAttempt.objects.order_by("pk").first()
    correct = list(q3.choices.filter(is_correct=True).order_by("pk"))
    assert first_attempt[2] == {
        "attempt_id": attempt.pk,
        "attempt_global_id": to_base64("QuizAttempt", attempt.pk),
        "quiz_id": graded.pk,
        "quiz": "quiz",
        "submitted_at": "2026-11-01T12:01:00Z",
        "question_id": q3.pk,
        "question_global_id": to_base64("Question", q3.pk),
        "question_position": 3,
        "term_id": q3.term_id,
        "term_global_id": to_base64("Term", q3.term_id),
        "term": "peft",
        "is_correct": True,
        "choice_ids": [choice.pk for choice in correct],
        "choice_global_ids": [to_base64("Choice", choice.public_id) for choice in correct],
        "choice_texts": ["Choice 3.1", "Choice 3.2"],
    }
    csv_rows = parse_csv(read(analyst_client.get("/exports/answers.csv")))
    assert csv_rows[2]["choice_ids"] == " ".join(str(choice.pk) for choice in correct)
    assert csv_rows[2]["choice_texts"] == "Choice 3.1 | Choice 3.2"
    assert (csv_rows[3]["choice_ids"], csv_rows[3]["choice_texts"]) == ("", "")


def test_choices_export_counts_picks(graded, analyst_client):
    """The choices dataset: per choice, picks and their share of the question's answers."""
    rows = parse_csv(read(analyst_client.get("/exports/choices.csv", {"quiz": "quiz"})))
    first = Question.objects.get(quiz=graded, position=1).choices.order_by("position").first()
    assert rows[0] == {
        "quiz_id": str(graded.pk),
        "quiz": "quiz",
        "question_id": str(first.question_id),
        "question_global_id": to_base64("Question", first.question_id),
        "question_position": "1",
        "choice_id": str(first.pk),
        "choice_global_id": to_base64("Choice", first.public_id),
        "position": "1",
        "text": "Choice 1.1",
        "is_correct": "true",
        "picks": "3",
        "pick_share": "0.6",
        "rarely_picked": "false",
        "attracts_strong_learners": "false",
    }
    assert [(row["question_position"], row["position"], row["picks"]) for row in rows] == [
        ("1", "1", "3"), ("1", "2", "1"), ("1", "3", "1"),
        ("2", "1", "2"), ("2", "2", "1"), ("2", "3", "1"),
        ("3", "1", "4"), ("3", "2", "3"), ("3", "3", "1"),
        ("4", "1", "0"), ("4", "2", "0"),
        ("5", "1", "0"), ("5", "2", "0"),
    ]  # fmt: skip


def test_bom_is_opt_in(graded, analyst_client, capsysbinary):
    """?bom=1 and --bom start a CSV with a UTF-8 byte order mark; other values are a 400."""
    with_bom = read(analyst_client.get("/exports/attempts.csv", {"bom": "1"}))
    without = read(analyst_client.get("/exports/attempts.csv", {"bom": "0"}))
    assert with_bom == BOM + without
    response = analyst_client.get("/exports/attempts.csv", {"bom": "yes"})
    assert response.status_code == 400
    assert response.json() == bad_input({"bom": ["Use 1 or 0."]})
    call_command("export_quiz_analytics", dataset="answers", fmt="csv", bom=True)
    assert capsysbinary.readouterr().out.startswith(BOM + b"attempt_id,")


def test_questions_export_is_the_item_analysis(graded, analyst_client):
    """The questions dataset carries facility and discrimination per question."""
    rows = parse_jsonl(read(analyst_client.get("/exports/questions.jsonl", {"quiz": "quiz"})))
    assert [(r["position"], r["seen"], r["correct"]) for r in rows] == [
        (1, 5, 3), (2, 5, 2), (3, 5, 3), (4, 5, 0), (5, 0, 0),
    ]  # fmt: skip
    assert rows[0]["facility"] == pytest.approx(0.6)
    assert rows[4]["facility"] is None


def test_window_and_chapter_filters(graded, analyst_client):
    """since/until and chapter narrow the rows."""
    second_day = parse_csv(
        read(analyst_client.get("/exports/attempts.csv", {"since": "2026-11-02"}))
    )
    assert len(second_day) == 3
    first_day = parse_csv(
        read(analyst_client.get("/exports/attempts.csv", {"until": "2026-11-01"}))
    )
    assert len(first_day) == 2
    in_chapter = analyst_client.get(
        "/exports/attempts.csv", {"chapter": "fine-tuning-alignment-terms"}
    )
    assert len(parse_csv(read(in_chapter))) == 5


@pytest.mark.parametrize(
    ("params", "rows"),
    [
        ({"until": "9999-12-31"}, 5),
        ({"since": "0001-01-01"}, 5),
        ({"since": "0001-01-01", "until": "9999-12-31"}, 5),
        ({"since": "9999-12-31"}, 0),
    ],
)
def test_windows_at_the_ends_of_the_calendar(graded, analyst_client, params, rows):
    """The first and the last day of the calendar are windows like any other."""
    response = analyst_client.get("/exports/attempts.csv", params)
    assert response.status_code == 200
    assert len(parse_csv(read(response))) == rows


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"since": "yesterday"}, {"since": ["Must be a day written YYYY-MM-DD."]}),
        ({"quiz": "nope"}, {"quiz": [NOT_A_CHOICE]}),
        ({"chapter": "nope"}, {"chapter": [NOT_A_CHOICE]}),
        ({"since": "2026-11-03", "until": "2026-11-01"}, {"until": ["Must not be before since."]}),
        ({"sinse": "2026-11-01"}, {"sinse": ["Unknown parameter."]}),
        ({"since": "11/03/2026"}, {"since": ["Must be a day written YYYY-MM-DD."]}),
        ({"since": "2026-W45-1"}, {"since": ["Must be a day written YYYY-MM-DD."]}),
        ({"since": FULL_WIDTH_YEAR + "-11-01"}, {"since": ["Must be a day written YYYY-MM-DD."]}),
        ({"since": "2026-02-30"}, {"since": ["Is not a day of the calendar."]}),
        ({"since": ["2026-11-01", "2026-11-02"]}, {"since": ["Given more than once."]}),
    ],
)  # fmt: skip
def test_bad_parameters_are_400_naming_them(graded, analyst_client, params, errors):
    """A bad query parameter is a 400 whose coded JSON error names it."""
    response = analyst_client.get("/exports/attempts.csv", params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == bad_input(errors)


NO_SUCH_EXPORT = {
    "message": "No such export: the datasets are attempts, answers, questions, choices, "
    "the formats csv, jsonl.",
    "extensions": {"code": "NOT_FOUND"},
}


@pytest.mark.parametrize("path", ["/exports/users.csv", "/exports/secrets.csv",
                                  "/exports/attempts.xlsx", "/exports/attempts.json"])  # fmt: skip
@pytest.mark.parametrize("caller", ["session", "token"])
def test_unknown_dataset_or_format_is_a_coded_404(graded, client, analyst, path, caller):
    """Only the four datasets in the two formats exist (JSON Lines, not JSON): anything else
    is a 404 in the API's JSON shape, NOT_FOUND, for a session and a token alike."""
    headers = request_as(f"{caller} with the permission", client, None, analyst)
    response = client.get(path, **headers)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"errors": [NO_SUCH_EXPORT]}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
@pytest.mark.parametrize("caller", ["session", "token"])
def test_other_methods_are_a_coded_405(graded, analyst, method, caller):
    """An export is read with GET (or HEAD): other methods get 405 with Allow and a coded
    JSON error, not the CSRF page, even from a session (CSRF checks enforced here)."""
    client = Client(enforce_csrf_checks=True)
    headers = request_as(f"{caller} with the permission", client, None, analyst)
    for path in ["/exports/attempts.csv", "/exports/glossary.csv"]:
        response = getattr(client, method)(path, **headers)
        assert response.status_code == 405
        assert response["Allow"] == "GET, HEAD"
        assert response.json() == {
            "errors": [
                {
                    "message": f"{method.upper()} is not allowed here; use GET.",
                    "extensions": {"code": "METHOD_NOT_ALLOWED"},
                }
            ]
        }
    assert client.head("/exports/attempts.csv", **headers).status_code == 200


def analyst_token(analyst) -> str:
    return api_token_create(user=analyst, name="report", scopes=[ApiToken.Scope.ANALYTICS_READ])[1]


CHALLENGE = 'Bearer realm="glossary", scope="analytics:read"'
# Who asks -> (status, error code, what follows the challenge; None: no challenge).
CALLERS = {
    "anonymous": (401, "UNAUTHENTICATED", ""),
    "bad token": (401, "API_TOKEN_INVALID", ', error="invalid_token"'),
    "expired token": (401, "API_TOKEN_EXPIRED", ', error="invalid_token"'),
    "token without the scope": (
        401,
        "API_TOKEN_INSUFFICIENT_SCOPE",
        ', error="insufficient_scope"',
    ),
    "session without the permission": (403, "FORBIDDEN", None),
    "session with the permission": (200, None, None),
}


def request_as(caller, client, editor, analyst) -> dict:
    """Logs `client` in, or returns the Authorization header, as `caller` asks."""
    if caller == "token with the permission":
        return {"HTTP_AUTHORIZATION": f"Bearer {analyst_token(analyst)}"}
    if caller.startswith("session"):
        client.force_login(analyst if caller.endswith("with the permission") else editor)
        return {}
    if caller == "anonymous":
        return {}
    if caller == "bad token":
        return {"HTTP_AUTHORIZATION": f"Bearer glb_{'x' * 43}"}
    api_token, token = api_token_create(
        user=analyst, name="report", scopes=[ApiToken.Scope.ANALYTICS_READ]
    )
    (expire if caller == "expired token" else drop_scopes)(api_token)
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def assert_answer(caller, status, content_type, challenge, body):
    """What an export answers `caller`: the CSV, or a coded JSON error, with the Bearer
    challenge on a 401 and on nothing else."""
    expected_status, code, challenge_rest = CALLERS[caller]
    assert status == expected_status
    if code is None:
        assert content_type == "text/csv; charset=utf-8"
        assert body.startswith(b"attempt_id,")
        assert challenge is None
        return
    assert content_type == "application/json"
    error = json.loads(body)["errors"][0]
    assert error["extensions"] == {"code": code}
    assert error["message"]
    assert b"quiz" not in body
    if challenge_rest is None:
        assert challenge is None
    else:
        assert challenge.startswith(CHALLENGE + challenge_rest)


@pytest.mark.parametrize("caller", CALLERS)
def test_exports_answer_api_clients_in_json(graded, client, editor, analyst, caller):
    """Nobody reads attempts without the analytics permission; a caller without
    credentials, or with a token that does not do, gets 401 with a coded JSON error and a
    Bearer challenge (without an error code when none was sent), a session without the
    permission 403 in JSON, an analyst's session the CSV."""
    headers = request_as(caller, client, editor, analyst)
    response = client.get("/exports/attempts.csv", **headers)
    body = read(response) if response.streaming else response.content
    challenge = response.headers.get("WWW-Authenticate")
    assert_answer(caller, response.status_code, response["Content-Type"], challenge, body)
    if response.status_code != 200:
        assert response["Cache-Control"] == "private, no-store"
        assert not response.cookies
    if caller == "anonymous":
        assert challenge == CHALLENGE


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_exports_answer_api_clients_over_a_socket(graded, client, editor, analyst, live_server):
    """The same answers from the live server, over HTTP on a socket, caller by caller (on
    PostgreSQL: the server's threads cannot share SQLite's in-memory test database)."""
    for caller in CALLERS:
        client.logout()
        headers = request_as(caller, client, editor, analyst)
        request = urllib.request.Request(f"{live_server.url}/exports/attempts.csv")
        if "HTTP_AUTHORIZATION" in headers:
            request.add_header("Authorization", headers["HTTP_AUTHORIZATION"])
        if settings.SESSION_COOKIE_NAME in client.cookies:
            session = client.cookies[settings.SESSION_COOKIE_NAME].value
            request.add_header("Cookie", f"{settings.SESSION_COOKIE_NAME}={session}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, answer_headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, answer_headers, body = error.code, error.headers, error.read()
        assert_answer(caller, status, answer_headers["Content-Type"],
                      answer_headers.get("WWW-Authenticate"), body)  # fmt: skip


@pytest.mark.parametrize("dataset", ["attempts", "answers", "questions", "choices"])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_every_staff_export_asks_for_credentials(graded, client, dataset, fmt):
    """Each staff export, in each format, answers an anonymous caller 401 in JSON; the
    public glossary download stays open."""
    response = client.get(f"/exports/{dataset}.{fmt}")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert response["WWW-Authenticate"] == CHALLENGE
    assert client.get("/exports/glossary.csv").status_code == 200


def test_superusers_may_export(graded, staff_client):
    """Superusers hold every permission, the export one included."""
    assert staff_client.get("/exports/attempts.csv").status_code == 200


def test_csv_cells_cannot_become_formulas(graded, analyst_client):
    """Cells starting with = + - @ are prefixed so spreadsheets show them as text."""
    QuizAttempt.objects.filter(client_id="x").update(client_id='=HYPERLINK("http://x")')
    QuizAttempt.objects.filter(client_id="y").update(client_id="@SUM(A1)")
    rows = parse_csv(read(analyst_client.get("/exports/attempts.csv")))
    assert rows[0]["client_id"] == '\'=HYPERLINK("http://x")'
    assert rows[2]["client_id"] == "'@SUM(A1)"
    jsonl = parse_jsonl(read(analyst_client.get("/exports/attempts.jsonl")))
    assert jsonl[0]["client_id"] == '=HYPERLINK("http://x")'


def test_export_streams_100000_attempts_in_chunks(make_quiz, analyst_client):
    """A large export arrives as many chunks, and every row is there."""
    quiz = make_quiz([(Question.Kind.SINGLE, [True, False])])
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    QuizAttempt.objects.bulk_create(
        (
            QuizAttempt(
                quiz=quiz, client_id=f"c{n % 977}", idempotency_key=str(n), answers_fingerprint="",
                submitted_at=start, score=n % 2, max_score=1, percentage=100.0 * (n % 2),
                passed=bool(n % 2),
            )
            for n in range(100_000)
        ),
        batch_size=5000,
    )  # fmt: skip
    # A bulk load tells the listeners, as the services do, so the roll-ups stay exact.
    attempts_changed(list(QuizAttempt.objects.values_list("pk", flat=True)), AttemptChange.STORED)
    response = analyst_client.get("/exports/attempts.csv")
    chunks = rows = 0
    for chunk in response.streaming_content:
        chunks += 1
        rows += chunk.count(b"\n")
    assert rows == 100_000 + 1  # and the header
    assert chunks >= 50


def test_command_writes_to_stdout_and_files(graded, tmp_path, capsysbinary):
    """The command prints to stdout by default and writes --output files."""
    call_command("export_quiz_analytics", dataset="attempts", fmt="csv", quiz="quiz")
    rows = parse_csv(capsysbinary.readouterr().out)
    assert len(rows) == 5
    target = tmp_path / "answers.jsonl"
    call_command(
        "export_quiz_analytics", dataset="answers", fmt="jsonl", since="2026-11-02", output=target
    )
    assert len(parse_jsonl(target.read_bytes())) == 3 * 4


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"since": "soon"}, "--since: Must be a day written YYYY-MM-DD."),
        ({"quiz": "nope"}, "--quiz: Select a valid choice."),
        ({"since": "2026-11-03", "until": "2026-11-01"}, "--until: Must not be before since."),
        ({"until": "12/31/9999"}, "--until: Must be a day written YYYY-MM-DD."),
    ],
)
def test_command_refuses_bad_arguments(graded, options, message):
    """Bad filters stop the command with a message naming the option."""
    with pytest.raises(CommandError, match=message):
        call_command("export_quiz_analytics", dataset="attempts", fmt="csv", **options)


def test_command_exit_status_on_bad_arguments():
    """From the shell, a bad argument exits non-zero with the reason on stderr."""
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "export_quiz_analytics",
            "--dataset",
            "users",
            "--format",
            "csv",
        ],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "argument --dataset: invalid choice: 'users'" in result.stderr
    assert result.stdout == ""


def test_admin_action_exports_selected_quizzes(graded, staff_client):
    """The quiz list's export action streams the selected quizzes' attempts."""
    response = staff_client.post(
        reverse("admin:quizzes_quiz_changelist"),
        {"action": "export_attempts", "_selected_action": [graded.pk]},
    )
    assert response.status_code == 200
    assert len(parse_csv(read(response))) == 5


def test_editors_do_not_get_the_export_action(graded, editor_client):
    """Without the analytics permission the action is not offered."""
    response = editor_client.get(reverse("admin:quizzes_quiz_changelist"))
    assert "export_attempts" not in dict(
        response.context["cl"].model_admin.get_action_choices(response.wsgi_request)
    )


HOSTILE = [
    "=1+2",
    "+cmd",
    "-2-1",
    "@SUM(A1)",
    "\tindented",
    "\rreturn",
    'say "hi", twice',
    "comma, inside",
    "line\nbreak",
    "crlf\r\nend",
    "Zoë ✓ \U0001d518 مرحبا",
    "'already quoted",
    " leading space",
    "trailing space ",
    "\\.",
]


@pytest.mark.postgres
@pytest.mark.parametrize("dataset", ["attempts", "answers"])
def test_copy_and_python_paths_are_byte_identical(graded, dataset):
    """COPY and the Python path write the same bytes, with each hostile text in every
    text column at once (quiz slug, client id, term slugs, choice texts)."""
    quiz_id = graded.pk
    first = QuizAttempt.objects.order_by("pk").first()
    for value in HOSTILE:
        Quiz.objects.filter(pk=quiz_id).update(slug=value)
        QuizAttempt.objects.update(client_id=value)
        QuizAttempt.objects.filter(pk=first.pk).update(client_id="")  # empty, not null
        for number, term in enumerate(Term.objects.filter(questions__quiz=quiz_id).distinct()):
            Term.objects.filter(pk=term.pk).update(slug=f"{value}{number}")
        Choice.objects.filter(question__quiz=quiz_id).update(text=value)
        selected = QuizAttempt.objects.filter(quiz=quiz_id)
        by_copy = b"".join(export_chunks(dataset, "csv", selected))
        by_python = b"".join(export_chunks(dataset, "csv", selected, use_copy=False))
        assert by_copy == by_python, value
        rows = parse_csv(by_copy)
        assert len(rows) == (5 if dataset == "attempts" else 20)
        neutralised = "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value
        assert rows[0]["quiz"] == neutralised
        if dataset == "attempts":
            assert [row["client_id"] for row in rows] == ["", *[neutralised] * 4]
        else:
            assert rows[0]["term"] == neutralised + "0"
            assert rows[2]["choice_texts"] == f"{neutralised} | {value}"
