"""Exports of attempts, answers and item analysis: HTTP, command and admin action."""

import csv
import datetime
import io
import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from quizzes.models import Question, QuizAttempt

ATTEMPT_COLUMNS = [
    "attempt_id", "quiz", "client_id", "started_at", "submitted_at", "duration_seconds",
    "score", "max_score", "percentage", "passed",
]  # fmt: skip


NOT_A_CHOICE = "Select a valid choice. That choice is not one of the available choices."


def read(response) -> bytes:
    assert response.streaming
    return b"".join(response.streaming_content)


def parse_csv(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def parse_jsonl(content: bytes) -> list[dict]:
    return [json.loads(line) for line in content.decode().splitlines()]


def test_attempts_csv(graded, analyst_client):
    """One row per attempt, oldest first, with the stored numbers."""
    response = analyst_client.get("/exports/attempts.csv", {"quiz": "quiz"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="attempts-quiz-')
    rows = parse_csv(read(response))
    assert list(rows[0]) == ATTEMPT_COLUMNS
    attempts = list(QuizAttempt.objects.order_by("pk"))
    assert [row["attempt_id"] for row in rows] == [str(a.pk) for a in attempts]
    assert [(row["client_id"], row["score"], row["percentage"], row["passed"]) for row in rows] == [
        ("x", "3", "75", "true"),
        ("x", "2", "50", "false"),
        ("y", "1", "25", "false"),
        ("", "1", "25", "false"),
        ("z", "1", "25", "false"),
    ]
    assert rows[0]["submitted_at"] == "2026-11-01T12:01:00.000000+00:00"
    assert rows[0]["started_at"] == "2026-11-01T12:00:00.000000+00:00"
    assert rows[4]["duration_seconds"] == "600"


def test_attempts_jsonl_matches_csv(graded, analyst_client):
    """JSON Lines carries the same rows, typed."""
    rows = parse_jsonl(read(analyst_client.get("/exports/attempts.jsonl")))
    assert len(rows) == 5
    assert rows[0] | {"attempt_id": 0} == {
        "attempt_id": 0,
        "quiz": "quiz",
        "client_id": "x",
        "started_at": "2026-11-01T12:00:00+00:00",
        "submitted_at": "2026-11-01T12:01:00+00:00",
        "duration_seconds": 60.0,
        "score": 3,
        "max_score": 4,
        "percentage": 75.0,
        "passed": True,
    }


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
    csv_rows = parse_csv(read(analyst_client.get("/exports/answers.csv")))
    assert csv_rows[2]["choice_ids"] == " ".join(map(str, first_attempt[2]["choice_ids"]))


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
    ("params", "errors"),
    [
        ({"since": "yesterday"}, {"since": ["Enter a valid date."]}),
        ({"quiz": "nope"}, {"quiz": [NOT_A_CHOICE]}),
        ({"chapter": "nope"}, {"chapter": [NOT_A_CHOICE]}),
        ({"since": "2026-11-03", "until": "2026-11-01"}, {"until": ["Must not be before since."]}),
        ({"sinse": "2026-11-01"}, {"sinse": ["Unknown parameter."]}),
    ],
)  # fmt: skip
def test_bad_parameters_are_400_naming_them(graded, analyst_client, params, errors):
    """A bad query parameter is a 400 whose body names it."""
    response = analyst_client.get("/exports/attempts.csv", params)
    assert response.status_code == 400
    assert response.json() == {"errors": errors}


def test_unknown_dataset_or_format_is_404(analyst_client):
    """Only the three datasets in the two formats exist."""
    assert analyst_client.get("/exports/users.csv").status_code == 404
    assert analyst_client.get("/exports/attempts.xlsx").status_code == 404


@pytest.mark.parametrize("role", ["anonymous", "editor"])
def test_exports_refuse_anyone_without_the_permission(graded, client, editor, role):
    """Anonymous callers and editors get 403 and no data."""
    if role == "editor":
        client.force_login(editor)
    response = client.get("/exports/attempts.csv")
    assert response.status_code == 403
    assert b"quiz" not in response.content


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
        ({"since": "soon"}, "--since: Enter a valid date."),
        ({"quiz": "nope"}, "--quiz: Select a valid choice."),
        ({"since": "2026-11-03", "until": "2026-11-01"}, "--until: Must not be before since."),
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
