"""Settings come from the environment and refuse unsafe production values."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION = {
    "SECRET_KEY": "a-production-secret-" + "x" * 50,
    "DEBUG": "false",
    "ALLOWED_HOSTS": "glossary.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "DATABASE_URL": "sqlite:///:memory:",
}


def run_manage(*args, env):
    base = {key: value for key, value in os.environ.items() if key not in {"SECRET_KEY", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_startup_refuses_missing_secret_key_when_debug_is_off():
    """Without DEBUG, a missing SECRET_KEY stops startup with a message naming it."""
    result = run_manage("check", env={"DEBUG": "false"})
    assert result.returncode != 0
    assert "The SECRET_KEY environment variable is required when DEBUG is off." in result.stderr


def test_deploy_check_is_clean_with_production_values():
    """`check --deploy` has nothing to warn about with production values."""
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_startup_refuses_bounds_it_cannot_work_with():
    """An attempt token that expires as it is issued, or no roll-up rows, stop startup."""
    for name in ("ATTEMPT_TOKEN_HOURS", "ROLLUP_SHARDS"):
        result = run_manage("check", env={"DEBUG": "true", name: "0"})
        assert result.returncode != 0
        assert f"{name} must be at least 1." in result.stderr
