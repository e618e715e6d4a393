"""The rules for input that every entry point shares, each decided once.

- Days (`parse_day`): YYYY-MM-DD in ASCII digits, nothing else: no US order, no week
  dates, no other scripts' digits.
- Moments (`parse_moment`): ISO 8601 with a UTC offset; naive times are ambiguous and
  a server's own zone must not decide them. Returned in UTC, so they never overflow
  later (an offset applied at the ends of the calendar).
- Windows of days (`day_window`): `since` and `until` both included, `until` not before
  `since`, either open; the end of 9999-12-31 is the end of time.
- Text in requests (`unsafe_text`): no control characters but tab and line breaks, no
  unpaired surrogates (PostgreSQL cannot store them, and search marks matches with
  control characters).
- Stored text (`text_problem`): that, no invisible characters either (a name with a
  zero-width space looks like another and files under an initial no index shows), no
  line breaks in single-line fields, and a bounded length.
- GraphQL variables as a key (`canonical_json`): the same values, the same text,
  whatever order or spacing the client sent them in.

GraphQL's Date and DateTime scalars, the export query strings, the management commands
and the models all call these.
"""

import datetime
import json
import re
import unicodedata

ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ISO_MOMENT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})"
)
# Long texts (definitions, explanations, prompts) are paragraphs, not documents.
MAX_TEXT_LENGTH = 20_000


def parse_day(text: str) -> datetime.date:
    """The day `text` names; ValueError (with a message for people) when it names none."""
    if not isinstance(text, str) or not ISO_DAY.fullmatch(text):
        raise ValueError("must be a day written YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ValueError("is not a day of the calendar") from None


def parse_moment(text: str) -> datetime.datetime:
    """The moment `text` names, in UTC; ValueError when it is not one, or has no offset."""
    if not isinstance(text, str) or not ISO_MOMENT.fullmatch(text):
        raise ValueError(
            "must be an ISO 8601 date and time with a UTC offset, e.g. 2026-11-27T10:00:00Z"
        )
    try:
        moment = datetime.datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        return moment.astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        raise ValueError("is not a moment of the calendar") from None


def day_window(
    since: datetime.date | None, until: datetime.date | None
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """[start, end) in UTC of the days `since` to `until`, both included; None for an
    open side. ValueError when `until` is before `since`."""
    if since is not None and until is not None and until < since:
        raise ValueError("must not be before since")
    start = end = None
    if since is not None:
        start = datetime.datetime.combine(since, datetime.time(), datetime.UTC)
    if until is not None and until < datetime.date.max:
        end = datetime.datetime.combine(
            until + datetime.timedelta(days=1), datetime.time(), datetime.UTC
        )
    return start, end


def unsafe_text(value: str) -> bool:
    """True when `value` has NUL or other control characters (tabs and line breaks
    aside) or unpaired surrogates."""
    return any(
        unicodedata.category(char) in {"Cc", "Cs"} and char not in "\t\n\r" for char in value
    )


# Invisible or meaningless in stored text: format characters (zero-width space, byte
# order mark, bidirectional overrides, tags), private use, noncharacters, and the
# Unicode line and paragraph separators. The two joiners stay: emoji sequences and
# Persian need them. Unassigned code points stay too: this Python's Unicode may be
# older than the text.
INVISIBLE = {"Cf", "Co", "Zl", "Zp"}
JOINERS = {"\u200c", "\u200d"}


def _invisible(char: str) -> bool:
    code = ord(char)
    noncharacter = 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE
    return noncharacter or (unicodedata.category(char) in INVISIBLE and char not in JOINERS)


def text_problem(value: str, max_length: int = MAX_TEXT_LENGTH, *, multiline=True) -> str | None:
    """Why `value` may not be stored as text; None when it may. Single-line text (names,
    titles, slugs) takes no tab or line break either."""
    if unsafe_text(value) or (not multiline and any(char in "\t\n\r" for char in value)):
        allowed = "tab and line breaks aside" if multiline else "on one line"
        return f"must not contain control characters ({allowed})"
    if any(_invisible(char) for char in value):
        return "must not contain invisible characters (zero-width spaces, direction marks...)"
    if len(value) > max_length:
        return f"must be at most {max_length} characters (it has {len(value)})"
    return None


def canonical_json(value) -> str:
    """One text for equal JSON values (sorted keys, no spaces): what caches key on."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
