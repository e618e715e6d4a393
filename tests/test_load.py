"""The bounded load test (bench/loadtest.py) in its 10-second form: no 5xx, every
accepted submission stored exactly once, rate limiting answering with its code."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.postgres


def test_ten_seconds_of_load(tmp_path):
    """20 users, 90% reads and 10% submissions, against gunicorn on loopback."""
    report_file = tmp_path / "load.json"
    result = subprocess.run(
        [sys.executable, "bench/loadtest.py", "--seconds", "10", "--report", str(report_file)],
        cwd=settings.BASE_DIR,
        # A budget a slow machine still exceeds in 10 s, so the limit is always exercised.
        env={**os.environ, "SUBMISSIONS_PER_MINUTE": "10"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report_file.exists(), result.stdout + result.stderr
    report = json.loads(report_file.read_text())
    assert report["server_errors"] == 0, report
    assert report["failures"] == 0, report
    assert report["stored_exactly_once"], report
    assert report["accepted_keys"] > 0
    # A submission in flight when the run stops is stored but never answered.
    assert report["stored_attempts"] == report["accepted_keys"] + report["in_flight_at_stop"]
    assert report["rate_limited"] > 0  # one address, past 10 submissions a minute
    assert result.returncode == 0
