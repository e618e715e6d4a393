"""Rate limits on quiz submissions, per client address, with exact shared counters.

Each (address, window) counter is one row, incremented by a single atomic upsert, so
the count is exact under concurrent requests and across server processes and hosts
that share the database. Windows are fixed (aligned to the epoch).
"""

import datetime
import math

from django.conf import settings
from django.db import connection
from django.utils import timezone

from quizzes.models import SubmissionCounter


def _increment(address: str, window_seconds: int, window_start: datetime.datetime) -> int:
    table = SubmissionCounter._meta.db_table
    start = SubmissionCounter._meta.get_field("window_start").get_db_prep_value(
        window_start, connection
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" (address, window_seconds, window_start, count) '
            "VALUES (%s, %s, %s, 1) "
            "ON CONFLICT (address, window_seconds, window_start) "
            f'DO UPDATE SET count = "{table}".count + 1 RETURNING count',
            [address, window_seconds, start],
        )
        return cursor.fetchone()[0]


def submission_retry_after(address: str) -> int | None:
    """Count one submission from `address`; None when within every limit, else the seconds
    until the fullest window ends."""
    now = timezone.now()
    epoch = now.timestamp()
    waits = []
    for window_seconds, limit in settings.SUBMISSION_RATE_LIMITS:
        start = epoch - epoch % window_seconds
        count = _increment(
            address, window_seconds, datetime.datetime.fromtimestamp(start, datetime.UTC)
        )
        if count == 1:
            # A new window began: forget the counters no window can need any more.
            longest = max(seconds for seconds, _ in settings.SUBMISSION_RATE_LIMITS)
            SubmissionCounter.objects.filter(
                window_start__lt=now - datetime.timedelta(seconds=2 * longest)
            ).delete()
        if count > limit:
            waits.append(math.ceil(start + window_seconds - epoch))
    return max(waits) if waits else None
