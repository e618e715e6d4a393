"""Streaming exports of quiz data: attempts, answers and item analysis, as CSV or JSON Lines.

Rows come from the database in chunks (a server-side cursor on PostgreSQL) and leave as
encoded lines, so memory stays flat whatever the row count; on PostgreSQL the attempts
CSV comes straight from `COPY ... TO STDOUT`, formatted in SQL exactly as the Python
path formats it. The HTTP views, the management command and the admin action all call
`export_chunks`.
"""

import csv
import datetime
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    F,
    FloatField,
    Func,
    OuterRef,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Concat

from analytics.statistics import quiz_analytics
from quizzes.models import AttemptAnswer, AttemptAnswerChoice, Quiz

CHUNK_ROWS = 2000
COPY_CHUNK_BYTES = 64 * 1024
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
# Spreadsheets run cells that start with these as formulas.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class JoinedIds(Aggregate):
    """Space-separated ids, in ascending order: STRING_AGG on PostgreSQL, GROUP_CONCAT on SQLite."""

    function = "GROUP_CONCAT"
    template = "%(function)s(%(expressions)s, ' ')"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            function="STRING_AGG",
            template="%(function)s((%(expressions)s)::text, ' ' ORDER BY %(expressions)s)",
            **extra_context,
        )


@dataclass(frozen=True)
class Dataset:
    name: str
    columns: tuple[str, ...]
    description: str


DATASETS = {
    dataset.name: dataset
    for dataset in [
        Dataset(
            "attempts",
            (
                "attempt_id", "quiz", "client_id", "started_at", "submitted_at",
                "duration_seconds", "score", "max_score", "percentage", "passed",
            ),
            "one row per attempt",
        ),
        Dataset(
            "answers",
            (
                "attempt_id", "quiz", "submitted_at", "question_id", "question_position",
                "term", "is_correct", "choice_ids",
            ),
            "one row per attempt and question",
        ),
        Dataset(
            "questions",
            (
                "quiz", "question_id", "position", "prompt", "term_id", "seen", "answered",
                "correct", "facility", "discrimination", "weak",
            ),
            "item analysis, one row per question",
        ),
    ]
}  # fmt: skip


def _attempt_rows(attempts) -> Iterator[tuple]:
    rows = attempts.order_by("pk").values_list(
        "pk", "quiz__slug", "client_id", "started_at", "submitted_at", "duration",
        "score", "max_score", "percentage", "passed",
    )  # fmt: skip
    for row in rows.iterator(chunk_size=CHUNK_ROWS):
        duration = row[5]
        yield (*row[:5], duration.total_seconds() if duration is not None else None, *row[6:])


def _answer_rows(attempts) -> Iterator[tuple]:
    chosen = (
        AttemptAnswerChoice.objects.filter(answer=OuterRef("pk"))
        .order_by()
        .values("answer")
        .annotate(ids=JoinedIds("choice_id"))
        .values("ids")
    )
    rows = (
        AttemptAnswer.objects.filter(attempt__in=attempts)
        .annotate(choice_ids=Subquery(chosen))
        .order_by("attempt_id", "question__position")
        .values_list(
            "attempt_id", "attempt__quiz__slug", "attempt__submitted_at", "question_id",
            "question__position", "question__term__slug", "is_correct", "choice_ids",
        )
    )  # fmt: skip
    for row in rows.iterator(chunk_size=CHUNK_ROWS):
        yield (*row[:7], [int(i) for i in row[7].split()] if row[7] else [])


def _question_rows(quizzes, since, until) -> Iterator[tuple]:
    for quiz in quizzes.order_by("slug"):
        for stats in quiz_analytics(quiz=quiz, since=since, until=until).questions:
            yield (
                quiz.slug, stats.question_id, stats.position, stats.prompt, stats.term_id,
                stats.seen, stats.answered, stats.correct, stats.facility,
                stats.discrimination, stats.weak,
            )  # fmt: skip


def dataset_rows(
    dataset: str,
    attempts,
    *,
    quizzes=None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> Iterator[tuple]:
    """Rows of `dataset` for the given attempts (and, for "questions", quizzes and window)."""
    if dataset == "attempts":
        return _attempt_rows(attempts)
    if dataset == "answers":
        return _answer_rows(attempts)
    if dataset == "questions":
        quizzes = (
            quizzes if quizzes is not None else Quiz.objects.filter(pk__in=attempts.values("quiz"))
        )
        return _question_rows(quizzes, since, until)
    raise ValueError(f"Unknown dataset {dataset!r}.")


def _cell(value):
    """A CSV cell, formatted as PostgreSQL's COPY writes the same value (see below)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat(timespec="microseconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _json_value(value):
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return value


def _utc_timestamp(field: str) -> Func:
    return Func(
        F(field),
        template="to_char(%(expressions)s AT TIME ZONE 'UTC', "
        '\'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\')',
        output_field=CharField(),
    )


def _attempts_csv_by_copy(attempts) -> Iterator[bytes]:
    """The attempts CSV from PostgreSQL's COPY: no row passes through Python."""
    yield (",".join(DATASETS["attempts"].columns) + "\n").encode()
    formula = "^[" + "".join(re.escape(prefix) for prefix in FORMULA_PREFIXES) + "]"
    rows = attempts.order_by("pk").values_list(
        "pk",
        "quiz__slug",
        Case(
            When(client_id__regex=formula, then=Concat(Value("'"), F("client_id"))),
            default=F("client_id"),
        ),
        _utc_timestamp("started_at"),
        _utc_timestamp("submitted_at"),
        Func(F("duration"), template="EXTRACT(EPOCH FROM %(expressions)s)::float8",
             output_field=FloatField()),
        "score",
        "max_score",
        "percentage",
        Case(When(passed=True, then=Value("true")), default=Value("false")),
    )  # fmt: skip
    sql, params = rows.query.sql_with_params()
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy,
    ):
        # COPY hands over one row at a time: gathered, a million rows cost a thousand
        # writes downstream instead of a million.
        buffer = bytearray()
        for data in copy:
            buffer += data
            if len(buffer) >= COPY_CHUNK_BYTES:
                yield bytes(buffer)
                buffer.clear()
        if buffer:
            yield bytes(buffer)


def export_chunks(
    dataset: str,
    fmt: str,
    attempts,
    *,
    quizzes=None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> Iterator[bytes]:
    """The encoded export of `dataset` in `fmt` for the given attempts (and window)."""
    if dataset == "attempts" and fmt == "csv" and connection.vendor == "postgresql":
        return _attempts_csv_by_copy(attempts)
    rows = dataset_rows(dataset, attempts, quizzes=quizzes, since=since, until=until)
    return export_lines(dataset, fmt, rows)


def export_lines(dataset: str, fmt: str, rows: Iterable[tuple]) -> Iterator[bytes]:
    """Encoded output, a header line first for CSV; a chunk of lines at a time."""
    columns = DATASETS[dataset].columns
    buffer = io.StringIO()
    if fmt == "csv":
        writer = csv.writer(buffer)
        writer.writerow(columns)

        def write(row):
            writer.writerow([_cell(value) for value in row])

    elif fmt == "jsonl":

        def write(row):
            buffer.write(json.dumps(dict(zip(columns, map(_json_value, row), strict=True))))
            buffer.write("\n")

    else:
        raise ValueError(f"Unknown format {fmt!r}.")
    for count, row in enumerate(rows, start=1):
        write(row)
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()
