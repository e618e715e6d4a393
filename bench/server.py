"""The production server (gunicorn, 2 workers) on a free loopback port, for load tests,
benchmarks and the streaming test."""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def production_env(database_url: str, **extra: str) -> dict[str, str]:
    """This process's environment with production settings on `database_url`: what the
    served app and the manage.py commands around it run with."""
    # The replicas and the pooler of the environment belong to its own DATABASE_URL (a
    # test run behind PgBouncer beside a replica), not to another server's.
    elsewhere = database_url != os.environ.get("DATABASE_URL")
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not (elsewhere and name in ("DATABASE_REPLICA_URLS", "DATABASE_POOLER"))
    }
    return {
        **inherited,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        **extra,
    }


@contextmanager
def gunicorn(
    env: dict[str, str],
    *,
    workers: int = 2,
    start_seconds: float = 30,
    python: str = sys.executable,
) -> Iterator[int]:
    """Serve the WSGI app with `env` (from the virtualenv of `python`); yield its port once
    it accepts connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The server's log goes to a file, not a pipe nobody reads (a full pipe blocks it).
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [python, "-m", "gunicorn", "glossary_backend.wsgi", "--bind",
             f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + start_seconds
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        process.kill()
                        log.seek(0)
                        raise RuntimeError(
                            "gunicorn did not start: " + log.read().decode()
                        ) from None
                    time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=30)
