"""Streaming exports of quiz data, as CSV or JSON Lines, each dataset declared once.

A dataset is a list of `Column`s: a name, a kind and where the value comes from. The
kind decides, once, how a value is written: numbers with a fixed number of decimals
(rounded half up, trailing zeros dropped), timestamps in ISO 8601 UTC to the second
("2026-11-01T12:00:00Z"), booleans as true/false, GraphQL global IDs beside database
ids, lists space-separated (texts by " | ") in CSV and as arrays in JSON Lines, and
text cells that a spreadsheet would run as a formula (leading = + - @ tab CR)
neutralised with a leading ' in CSV only. CSV and JSON Lines carry the same values.

Rows come from the database in chunks (on PostgreSQL a server-side cursor inside one
transaction, which also works behind a transaction pooler) and leave as
encoded lines, so memory stays flat whatever the row count. On PostgreSQL the CSV of
the datasets read straight from tables (attempts, answers) comes from `COPY ... TO
STDOUT`, with every cell formatted in SQL generated from the same columns; a test
holds the two paths byte for byte equal. The HTTP views, the management command and
the admin action all call `export_chunks`.
"""

import datetime
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from django.contrib.postgres.aggregates import StringAgg
from django.db import connection
from django.db.models import Aggregate, F, Func, OuterRef, Subquery, TextField
from django.db.models.functions import Cast
from strawberry.relay import to_base64

from analytics.rollups import DurationSeconds
from analytics.statistics import quiz_analytics
from glossary_backend.database import streaming
from quizzes.models import AttemptAnswer, AttemptAnswerChoice, Quiz

CHUNK_ROWS = 2000
COPY_CHUNK_BYTES = 64 * 1024
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
BOM = "\ufeff".encode()
# Spreadsheets run cells that start with these as formulas.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = "^[=+@\t\r-]"


class Kind(Enum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    TEXT = "text"
    TIMESTAMP = "timestamp"
    GLOBAL_ID = "global id"
    INTEGER_LIST = "integer list"
    TEXT_LIST = "text list"
    GLOBAL_ID_LIST = "global id list"


LIST_SEPARATORS = {Kind.INTEGER_LIST: " ", Kind.GLOBAL_ID_LIST: " ", Kind.TEXT_LIST: " | "}
ELEMENT_KINDS = {
    Kind.INTEGER_LIST: Kind.INTEGER,
    Kind.GLOBAL_ID_LIST: Kind.GLOBAL_ID,
    Kind.TEXT_LIST: Kind.TEXT,
}


@dataclass(frozen=True)
class Column:
    """One column of a dataset: its name, how its values are written, where they come from.

    `source` is an ORM expression or field path for datasets read from a queryset, a
    function of the row object for computed datasets. For lists, `source` names the
    field of the chosen-choice rows (see `Chosen`). `places`: decimals of DECIMAL
    values; `node`: the GraphQL type of GLOBAL_ID values.
    """

    name: str
    kind: Kind
    source: object
    places: int = 0
    node: str = ""

    def text(self, value, kind: Kind | None = None) -> str | None:
        """The value as CSV text, before neutralising; None for a null."""
        kind = kind or self.kind
        if value is None:
            return None
        if kind in LIST_SEPARATORS:
            element = ELEMENT_KINDS[kind]
            parts = [self.text(item, element) or "" for item in value]
            return LIST_SEPARATORS[kind].join(parts) or None
        if kind == Kind.DECIMAL:
            # As PostgreSQL turns a float into numeric: 15 significant digits.
            number = Decimal(f"{value:.15g}").quantize(
                Decimal(1).scaleb(-self.places), ROUND_HALF_UP
            )
            return format(number.normalize() if number else Decimal(0), "f")
        if kind == Kind.BOOLEAN:
            return "true" if value else "false"
        if kind == Kind.TIMESTAMP:
            return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if kind == Kind.GLOBAL_ID:
            return to_base64(self.node, value)
        return str(value) or None

    def csv_cell(self, value) -> str:
        text = self.text(value)
        if text is None:
            return ""
        if self.kind in (Kind.TEXT, Kind.TEXT_LIST) and text.startswith(FORMULA_PREFIXES):
            return "'" + text
        return text

    def json_value(self, value) -> str:
        """The value as a JSON literal: the same number, text or list as the CSV cell."""
        if value is None:
            return "null"
        if self.kind in LIST_SEPARATORS:
            element = ELEMENT_KINDS[self.kind]
            return "[" + ", ".join(self._json_scalar(item, element) for item in value) + "]"
        return self._json_scalar(value, self.kind)

    def _json_scalar(self, value, kind: Kind) -> str:
        text = self.text(value, kind)
        if kind in (Kind.INTEGER, Kind.DECIMAL, Kind.BOOLEAN):
            return text
        return json.dumps(text if text is not None else "")

    def copy_sql(self, sql: str) -> str:
        """SQL formatting the value of `sql` as `text()` does, for PostgreSQL's COPY.
        Lists are formatted per element by `Chosen.copy_sql`."""
        if self.kind == Kind.DECIMAL:
            return f"trim_scale(round(CAST({sql} AS numeric), {int(self.places)}))::text"
        if self.kind == Kind.BOOLEAN:
            return f"CASE WHEN {sql} THEN 'true' WHEN NOT {sql} THEN 'false' END"
        if self.kind == Kind.TIMESTAMP:
            return f"""to_char({sql} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
        if self.kind == Kind.GLOBAL_ID:
            return _global_id_sql(self.node, sql)
        if self.kind in (Kind.TEXT, Kind.TEXT_LIST):
            # Empty text as a null: COPY would quote it, the csv module writes nothing.
            return (
                f"NULLIF(CASE WHEN {sql} ~ '{FORMULA_PATTERN}' THEN '''' || {sql} "
                f"ELSE {sql} END, '')"
            )
        return f"{sql}::text"


def _global_id_sql(node: str, sql: str) -> str:
    assert node.isidentifier()
    return f"encode(convert_to('{node}:' || ({sql})::text, 'UTF8'), 'base64')"


class JSONList(Aggregate):
    """The values as a JSON array, in the order of the second expression: json_agg on
    PostgreSQL; json_group_array on SQLite, which before 3.44 cannot order inside an
    aggregate and takes the rows as the (answer, choice) unique index yields them."""

    function = "json_group_array"
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"json_group_array({sql})", params

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            function="json_agg",
            arg_joiner=" ORDER BY ",
            template="%(function)s(%(expressions)s)::text",
            **extra_context,
        )


@dataclass(frozen=True)
class Chosen:
    """The choices an answer selected, by choice id: the source of list columns."""

    field: str  # on the chosen-choice row: "choice_id", "choice__public_id", "choice__text"

    def _aggregate(self, aggregate) -> Subquery:
        chosen = (
            AttemptAnswerChoice.objects.filter(answer=OuterRef("pk"))
            .order_by()
            .values("answer")
            .annotate(items=aggregate)
            .values("items")
        )
        return Subquery(chosen, output_field=TextField())

    def python(self) -> Subquery:
        return self._aggregate(JSONList(F(self.field), F("choice_id")))

    def copy(self, column: "Column") -> Subquery:
        """The list as `Column.text` writes it, formatted in SQL (PostgreSQL)."""
        element = ELEMENT_KINDS[column.kind]
        value = F(self.field)
        if element == Kind.GLOBAL_ID:
            value = Func(value, template=_global_id_sql(column.node, "%(expressions)s"))
        elif element == Kind.INTEGER:
            value = Cast(value, TextField())
        separator = LIST_SEPARATORS[column.kind]
        return self._aggregate(StringAgg(value, delimiter=separator, order_by="choice_id"))


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    columns: tuple[Column, ...]
    # Query datasets: the rows of the export's attempts to read the columns from.
    queryset: Callable | None = None
    # Computed datasets: the row objects for the export's quizzes and window.
    objects: Callable | None = None

    @property
    def header(self) -> list[str]:
        return [column.name for column in self.columns]


def _answers(attempts):
    return AttemptAnswer.objects.filter(attempt__in=attempts).order_by(
        "attempt_id", "question__position"
    )


def _question_stats(quizzes, since, until):
    for quiz in quizzes.order_by("slug"):
        for stats in quiz_analytics(quiz=quiz, since=since, until=until).questions:
            yield quiz, stats


def _choice_stats(quizzes, since, until):
    for quiz, question in _question_stats(quizzes, since, until):
        for choice in question.choices:
            yield quiz, question, choice


INTEGER, DECIMAL, BOOLEAN, TEXT = Kind.INTEGER, Kind.DECIMAL, Kind.BOOLEAN, Kind.TEXT
TIMESTAMP, GLOBAL_ID = Kind.TIMESTAMP, Kind.GLOBAL_ID

DATASETS = {
    dataset.name: dataset
    for dataset in [
        Dataset(
            "attempts",
            "one row per attempt",
            (
                Column("attempt_id", INTEGER, "pk"),
                Column("attempt_global_id", GLOBAL_ID, "pk", node="QuizAttempt"),
                Column("quiz_id", INTEGER, "quiz_id"),
                Column("quiz_global_id", GLOBAL_ID, "quiz_id", node="Quiz"),
                Column("quiz", TEXT, "quiz__slug"),
                Column("client_id", TEXT, "client_id"),
                Column("started_at", TIMESTAMP, "started_at"),
                Column("submitted_at", TIMESTAMP, "submitted_at"),
                Column("duration_seconds", DECIMAL, DurationSeconds("duration"), places=3),
                Column("score", INTEGER, "score"),
                Column("max_score", INTEGER, "max_score"),
                Column("percentage", DECIMAL, "percentage", places=2),
                Column("passed", BOOLEAN, "passed"),
            ),
            queryset=lambda attempts: attempts.order_by("pk"),
        ),
        Dataset(
            "answers",
            "one row per attempt and question",
            (
                Column("attempt_id", INTEGER, "attempt_id"),
                Column("attempt_global_id", GLOBAL_ID, "attempt_id", node="QuizAttempt"),
                Column("quiz_id", INTEGER, "attempt__quiz_id"),
                Column("quiz", TEXT, "attempt__quiz__slug"),
                Column("submitted_at", TIMESTAMP, "attempt__submitted_at"),
                Column("question_id", INTEGER, "question_id"),
                Column("question_global_id", GLOBAL_ID, "question_id", node="Question"),
                Column("question_position", INTEGER, "question__position"),
                Column("term_id", INTEGER, "question__term_id"),
                Column("term_global_id", GLOBAL_ID, "question__term_id", node="Term"),
                Column("term", TEXT, "question__term__slug"),
                Column("is_correct", BOOLEAN, "is_correct"),
                Column("choice_ids", Kind.INTEGER_LIST, Chosen("choice_id")),
                Column(
                    "choice_global_ids",
                    Kind.GLOBAL_ID_LIST,
                    Chosen("choice__public_id"),
                    node="Choice",
                ),
                Column("choice_texts", Kind.TEXT_LIST, Chosen("choice__text")),
            ),
            queryset=_answers,
        ),
        Dataset(
            "questions",
            "item analysis, one row per question",
            (
                Column("quiz_id", INTEGER, lambda row: row[0].pk),
                Column("quiz_global_id", GLOBAL_ID, lambda row: row[0].pk, node="Quiz"),
                Column("quiz", TEXT, lambda row: row[0].slug),
                Column("question_id", INTEGER, lambda row: row[1].question_id),
                Column(
                    "question_global_id", GLOBAL_ID, lambda row: row[1].question_id,
                    node="Question",
                ),
                Column("position", INTEGER, lambda row: row[1].position),
                Column("version", INTEGER, lambda row: row[1].version),
                Column("prompt", TEXT, lambda row: row[1].prompt),
                Column("term_id", INTEGER, lambda row: row[1].term_id),
                Column("term_global_id", GLOBAL_ID, lambda row: row[1].term_id, node="Term"),
                Column("seen", INTEGER, lambda row: row[1].seen),
                Column("answered", INTEGER, lambda row: row[1].answered),
                Column("correct", INTEGER, lambda row: row[1].correct),
                Column("facility", DECIMAL, lambda row: row[1].facility, places=4),
                Column("discrimination", DECIMAL, lambda row: row[1].discrimination, places=4),
                Column("weak", BOOLEAN, lambda row: row[1].weak),
            ),
            objects=_question_stats,
        ),
        Dataset(
            "choices",
            "picks per choice, one row per choice",
            (
                Column("quiz_id", INTEGER, lambda row: row[0].pk),
                Column("quiz", TEXT, lambda row: row[0].slug),
                Column("question_id", INTEGER, lambda row: row[1].question_id),
                Column(
                    "question_global_id", GLOBAL_ID, lambda row: row[1].question_id,
                    node="Question",
                ),
                Column("question_position", INTEGER, lambda row: row[1].position),
                Column("choice_id", INTEGER, lambda row: row[2].choice_id),
                Column("choice_global_id", GLOBAL_ID, lambda row: row[2].public_id, node="Choice"),
                Column("position", INTEGER, lambda row: row[2].position),
                Column("text", TEXT, lambda row: row[2].text),
                Column("is_correct", BOOLEAN, lambda row: row[2].is_correct),
                Column("picks", INTEGER, lambda row: row[2].picks),
                Column("pick_share", DECIMAL, lambda row: row[2].pick_share, places=4),
                Column("rarely_picked", BOOLEAN, lambda row: row[2].rarely_picked),
                Column(
                    "attracts_strong_learners", BOOLEAN,
                    lambda row: row[2].attracts_strong_learners,
                ),
            ),
            objects=_choice_stats,
        ),
    ]
}  # fmt: skip


def _source(column: Column):
    if isinstance(column.source, Chosen):
        return column.source.python()
    if isinstance(column.source, str):
        return F(column.source)
    return column.source


def dataset_rows(
    dataset: str,
    attempts,
    *,
    quizzes=None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> Iterator[tuple]:
    """Raw values of `dataset`, one tuple per row, for the given attempts (and, for the
    computed datasets, quizzes and window)."""
    spec = DATASETS[dataset]
    if spec.queryset is not None:
        names = [f"c{index}" for index in range(len(spec.columns))]
        rows = (
            spec.queryset(attempts)
            .annotate(
                **{name: _source(column) for name, column in zip(names, spec.columns, strict=True)}
            )
            .values_list(*names)
        )
        lists = [isinstance(column.source, Chosen) for column in spec.columns]
        with streaming():
            for row in rows.iterator(chunk_size=CHUNK_ROWS):
                yield tuple(
                    (json.loads(value) if value else []) if is_list else value
                    for value, is_list in zip(row, lists, strict=True)
                )
        return
    if quizzes is None:
        quizzes = Quiz.objects.filter(pk__in=attempts.values("quiz"))
    for item in spec.objects(quizzes, since, until):
        yield tuple(column.source(item) for column in spec.columns)


def _copy_chunks(dataset: Dataset, attempts) -> Iterator[bytes]:
    """The CSV from PostgreSQL's COPY, every cell formatted in SQL from the same columns:
    no row passes through Python."""
    yield (",".join(dataset.header) + "\n").encode()
    raw = {
        f"c{index}": column.source.copy(column)
        if isinstance(column.source, Chosen)
        else _source(column)
        for index, column in enumerate(dataset.columns)
    }
    sql, params = (
        dataset.queryset(attempts).annotate(**raw).values_list(*raw).query.sql_with_params()
    )
    # The inner query reads and orders the rows; the outer one only formats each cell.
    formatted = ", ".join(
        column.copy_sql(f'"source"."{name}"')
        for name, column in zip(raw, dataset.columns, strict=True)
    )
    statement = (
        f'COPY (SELECT {formatted} FROM ({sql}) AS "source" ({", ".join(raw)})) '
        "TO STDOUT WITH (FORMAT csv)"
    )
    with connection.cursor() as cursor, cursor.copy(statement, params) as copy:
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
    bom: bool = False,
    use_copy: bool = True,
) -> Iterator[bytes]:
    """The encoded export of `dataset` in `fmt` for the given attempts (and window).

    `bom` starts a CSV with a UTF-8 byte order mark (some spreadsheets need it to read
    UTF-8); `use_copy=False` keeps PostgreSQL on the Python path (for comparison)."""
    spec = DATASETS[dataset]
    if fmt == "csv" and bom:
        yield BOM
    if (
        fmt == "csv"
        and use_copy
        and spec.queryset is not None
        and connection.vendor == "postgresql"
    ):
        yield from _copy_chunks(spec, attempts)
        return
    rows = dataset_rows(dataset, attempts, quizzes=quizzes, since=since, until=until)
    yield from export_lines(dataset, fmt, rows)


def _quoted(cell: str) -> str:
    """A CSV field as PostgreSQL's COPY writes it (the csv module would leave a lone CR
    unquoted): quoted when it holds a comma, a quote, CR or LF; quotes doubled."""
    if any(char in cell for char in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def export_lines(dataset: str, fmt: str, rows: Iterable[tuple]) -> Iterator[bytes]:
    """Encoded output, a header line first for CSV; a chunk of lines at a time."""
    columns = DATASETS[dataset].columns
    buffer = io.StringIO()
    if fmt == "csv":
        buffer.write(",".join(column.name for column in columns) + "\n")

        def write(row):
            cells = (column.csv_cell(value) for column, value in zip(columns, row, strict=True))
            buffer.write(",".join(map(_quoted, cells)) + "\n")

    elif fmt == "jsonl":
        keys = [json.dumps(column.name) for column in columns]

        def write(row):
            pairs = (
                f"{key}: {column.json_value(value)}"
                for key, column, value in zip(keys, columns, row, strict=True)
            )
            buffer.write("{" + ", ".join(pairs) + "}\n")

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
