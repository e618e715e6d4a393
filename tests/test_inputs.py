"""The shared input rules, fuzzed, and the edges that once were server errors."""

import contextlib
import datetime
import re
import unicodedata
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from strawberry.relay import to_base64

from glossary_backend.graphql import (
    MAX_CURSOR_OFFSET,
    MAX_DATABASE_ID,
    InvalidArgument,
    parse_cursor,
    parse_global_id,
)
from glossary_backend.inputs import (
    MAX_TEXT_LENGTH,
    day_window,
    parse_day,
    parse_moment,
    text_problem,
)
from quizzes.models import QuizAttempt
from terms.models import Term

CANONICAL = re.compile(r"[1-9][0-9]*")
WEIRD_DIGITS = ["\u00b2", "\uff11\uff15", "\u0661", "015", "+15", "-1", " 15", "15 ", "0", "1e3"]


# Global IDs and cursors


@given(type_name=st.sampled_from(["Term", "Chapter", "Quiz"]), pk=st.integers(1, MAX_DATABASE_ID))
def test_global_ids_round_trip(type_name, pk):
    """Every ID the API hands out parses back to its type and key."""
    assert parse_global_id(to_base64(type_name, pk)) == (type_name, pk)


@given(node_id=st.text())
def test_a_global_id_is_canonical_digits_or_nothing(node_id):
    """Keys are plain ASCII digits without leading zeros that a 64-bit column holds."""
    try:
        _type_name, pk = parse_global_id(to_base64("Term", node_id))
    except ValueError:
        assert not (CANONICAL.fullmatch(node_id) and int(node_id) <= MAX_DATABASE_ID)
    else:
        assert str(pk) == node_id
        assert 1 <= pk <= MAX_DATABASE_ID


@given(value=st.text())
def test_anything_else_is_not_a_global_id(value):
    """Arbitrary text never raises anything but ValueError."""
    with contextlib.suppress(ValueError):
        parse_global_id(value)


@given(offset=st.text())
def test_a_cursor_is_our_prefix_and_a_bounded_offset(offset):
    """Cursors are "arrayconnection:" and an offset below 2**31, written canonically."""
    try:
        parsed = parse_cursor(to_base64("arrayconnection", offset), "after")
    except InvalidArgument:
        assert not (
            (CANONICAL.fullmatch(offset) or offset == "0") and int(offset) <= MAX_CURSOR_OFFSET
        )
    else:
        assert str(parsed) == offset


# Days, moments, windows


@given(day=st.dates())
def test_days_round_trip(day):
    assert parse_day(day.isoformat()) == day


@given(text=st.text(max_size=20))
def test_a_day_is_written_one_way(text):
    """Either the text is exactly a day's ISO form, or ValueError."""
    try:
        day = parse_day(text)
    except ValueError:
        pass
    else:
        assert day.isoformat() == text


@given(moment=st.datetimes(timezones=st.timezones()))
def test_moments_with_an_offset_round_trip_in_utc(moment):
    """A moment with an offset comes back as the same instant, in UTC."""
    text = moment.isoformat()
    if moment.utcoffset().total_seconds() % 60:
        # Offsets of historic local mean times have seconds; ISO 8601 offsets do not.
        with pytest.raises(ValueError, match="with a UTC offset"):
            parse_moment(text)
        return
    try:
        parsed = parse_moment(text)
    except ValueError:
        # Only where UTC itself would leave the calendar.
        with pytest.raises(OverflowError):
            moment.astimezone(datetime.UTC)
        return
    # The instant the text writes (a zone's skipped hour included), in UTC.
    assert parsed == datetime.datetime.fromisoformat(text).astimezone(datetime.UTC)
    assert parsed.tzinfo is datetime.UTC


@given(moment=st.datetimes())
def test_moments_without_an_offset_are_refused(moment):
    with pytest.raises(ValueError, match="with a UTC offset"):
        parse_moment(moment.isoformat())


@given(since=st.none() | st.dates(), until=st.none() | st.dates())
def test_windows_never_overflow(since, until):
    """Any two days make a window or a ValueError (until before since), never an overflow."""
    try:
        start, end = day_window(since, until)
    except ValueError:
        assert until < since
        return
    if start is not None and end is not None:
        assert start < end


# Stored text


@given(text=st.text())
def test_stored_text_has_no_control_characters(text):
    """Control characters other than tab and line breaks, and lone surrogates, are refused."""
    controls = [c for c in text if (ord(c) < 32 or 127 <= ord(c) < 160) and c not in "\t\n\r"]
    invisible = [c for c in text if unicodedata.category(c) in {"Cf", "Co", "Zl", "Zp"}]
    problem = text_problem(text)
    if controls:
        assert problem == "must not contain control characters (tab and line breaks aside)"
    elif set(invisible) - {"\u200c", "\u200d"}:
        assert problem.startswith("must not contain invisible characters")
    elif len(text) <= MAX_TEXT_LENGTH and not any(ord(c) & 0xFFFE == 0xFFFE for c in text):
        assert problem is None


# The edges, through the API


NODE = "query($id: ID!) { node(id: $id) { id } }"


@pytest.mark.parametrize("node_id", [*WEIRD_DIGITS, "99999999999999999999"])
def test_ids_with_other_digits_resolve_nothing(seed, graphql, node_id):
    """ "Term:\u00b2", full-width "Term:15", "Term:015"... are no ID at all."""
    assert graphql(NODE, {"id": to_base64("Term", node_id)})["data"] == {"node": None}


@pytest.mark.parametrize("written", [" {}", "{}\n", "{}=", "{}\t"])
def test_ids_and_cursors_are_written_exactly_as_given(seed, graphql, written):
    """Base64 decodes around stray spaces and padding; an ID is only what the API wrote."""
    lora = to_base64("Term", Term.objects.get(slug="lora").pk)
    assert graphql(NODE, {"id": written.format(lora)})["data"] == {"node": None}
    query = "query($a: String) { terms(after: $a) { totalCount } }"
    cursor = written.format(to_base64("arrayconnection", 1))
    result = graphql(query, {"a": cursor}, expect_errors=True)
    assert result["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}


def test_the_node_interface_is_not_a_type_of_node(seed, graphql):
    assert graphql(NODE, {"id": to_base64("Node", 1)})["data"] == {"node": None}


@pytest.mark.parametrize("offset", ["99999999999999999999", "\uff11", "-1", "01"])
def test_cursors_out_of_range_are_coded_errors(seed, graphql, offset):
    query = "query($a: String) { terms(after: $a) { totalCount } }"
    result = graphql(query, {"a": to_base64("arrayconnection", offset)}, expect_errors=True)
    assert result["errors"] == [
        {
            "message": "after: is not a cursor of this list.",
            "extensions": {"code": "BAD_USER_INPUT", "argument": "after"},
        }
    ]


def test_last_zero_is_refused_rather_than_a_full_page(seed, graphql):
    result = graphql("{ terms(last: 0) { edges { cursor } } }", expect_errors=True)
    assert result["data"] is None
    assert result["errors"][0]["message"] == "last: must be between 1 and 100."


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2026-01-01T00:00:00"]
)
def test_moments_that_leave_the_calendar_or_have_no_offset(seed, graphql, moment):
    """updatedSince at the ends of the calendar, or without an offset: a coded error."""
    query = "query($d: DateTime) { terms(filters: {updatedSince: $d}) { totalCount } }"
    result = graphql(query, {"d": moment}, expect_errors=True)
    assert result["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "d"}
    assert result["errors"][0]["message"].startswith("Variable '$d' has invalid value: A DateTime")


@pytest.mark.parametrize(
    ("moment", "total"), [("0001-01-01T00:00:00Z", 31), ("9999-12-31T23:59:59Z", 0)]
)
def test_moments_at_the_ends_of_the_calendar_in_utc(seed, graphql, moment, total):
    query = "query($d: DateTime) { terms(filters: {updatedSince: $d}) { totalCount } }"
    assert graphql(query, {"d": moment})["data"]["terms"]["totalCount"] == total


SUBMIT = """mutation($input: SubmitQuizAttemptInput!) {
  submitQuizAttempt(input: $input) { __typename }
}"""


def test_started_at_without_an_offset_is_refused(seed_quiz, graphql):
    """startedAt must say which zone it is in; nothing is stored."""
    variables = {
        "input": {
            "quiz": to_base64("Quiz", seed_quiz.pk),
            "answers": [],
            "idempotencyKey": "naive",
            "startedAt": "2026-11-27T10:00:00",
        }
    }
    result = graphql(SUBMIT, variables, expect_errors=True)
    assert result["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "input"}
    assert (
        "A DateTime must be an ISO 8601 date and time with a UTC offset"
        in (result["errors"][0]["message"])
    )
    assert not QuizAttempt.objects.exists()


ANALYTICS = """query($quiz: ID!, $since: Date, $until: Date) {
  quizAnalytics(quiz: $quiz, since: $since, until: $until) { summary { attempts } }
}"""


@pytest.mark.parametrize(("since", "until"), [(None, "9999-12-31"), ("0001-01-01", "9999-12-31")])
def test_analytics_windows_at_the_ends_of_the_calendar(
    seed_quiz, staff_client, graphql, since, until
):
    variables = {"quiz": to_base64("Quiz", seed_quiz.pk), "since": since, "until": until}
    assert graphql(ANALYTICS, variables)["data"]["quizAnalytics"]["summary"]["attempts"] == 0


def test_the_dashboard_takes_the_last_day_of_the_calendar(seed_quiz, staff_client):
    url = reverse("admin:quizzes_quiz_analytics", args=[seed_quiz.pk])
    response = staff_client.get(url, {"until": "9999-12-31"})
    assert response.status_code == 200
    assert response.context["summary"].attempts == 0


def test_the_export_command_takes_the_last_day_of_the_calendar(seed_quiz, tmp_path):
    target = tmp_path / "attempts.csv"
    call_command(
        "export_quiz_analytics", dataset="attempts", fmt="csv", until="9999-12-31", output=target
    )
    assert target.read_text().count("\n") == 1  # the header alone


# Stored text through the admin and the import


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "Lo\u200bRA",
            "Must not contain invisible characters (zero-width spaces, direction marks...).",
        ),
        (
            "\u202eAROL",
            "Must not contain invisible characters (zero-width spaces, direction marks...).",
        ),
        ("Lo\nRA", "Must not contain control characters (on one line)."),
    ],
)
def test_names_are_visible_text_on_one_line(db, make_chapter, name, message):
    """A name that looks like another, or breaks the line it is shown on, is refused."""
    from django.core.exceptions import ValidationError

    term = Term(chapter=make_chapter(), name=name, slug="x", definition="A definition.")
    with pytest.raises(ValidationError) as refused:
        term.full_clean()
    assert refused.value.message_dict == {"name": [message]}


def test_control_characters_are_refused_by_the_term_form(editor_client, seed):
    term = Term.objects.get(slug="lora")
    data = {
        "name": term.name, "slug": term.slug, "chapter": term.chapter_id, "status": term.status,
        "definition": "Low\x02-Rank\x03", "explanation": "", "abbreviation": "LoRA",
        "expansion": "", "aliases": "", "see_also": [],
    }  # fmt: skip
    response = editor_client.post(reverse("admin:terms_term_change", args=[term.pk]), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["definition"] == [
        "Must not contain control characters (tab and line breaks aside)."
    ]
    term.refresh_from_db()
    assert "\x02" not in term.definition


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,definition\nNul\x00Term,A definition.\n", "Row 2: name: Must not contain control"),
        (
            "name,definition\nLong," + "x" * 200_000 + "\n",
            "Row 2: field larger than field limit (131072).",
        ),
        (
            "name,definition\nWordy," + "x" * (MAX_TEXT_LENGTH + 1) + "\n",
            f"Row 2: definition: Must be at most {MAX_TEXT_LENGTH} characters",
        ),
    ],
)
def test_import_reports_hostile_cells_by_row(seed, tmp_path, capsys, content, message):
    """NUL bytes and oversized cells are row errors; nothing is written."""
    path = Path(tmp_path) / "terms.csv"
    path.write_text(content, encoding="utf-8")
    before = Term.objects.count()
    with pytest.raises(CommandError) as refused:
        call_command("import_terms", str(path), chapter="fine-tuning-alignment-terms")
    reported = str(refused.value) + capsys.readouterr().err
    assert message in reported
    assert Term.objects.count() == before
