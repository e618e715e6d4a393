"""Hot roll-up rows: concurrent submissions of one quiz, with 1 roll-up row per key and
with ROLLUP_SHARDS, without HTTP in between.

    python bench/hot_rows.py [--submissions 40] [--threads 1 2 4] [--shards 1 8]

On a throwaway PostgreSQL with durable commits, T threads (each its own connection, as
T gunicorn workers would have) each store `--submissions` attempts at the seed quiz
through the one write path (`attempt_submit`), while bench/scale.py's sampler counts
the backends waiting for a lock every 2 ms. Prints submissions/s and the lock wait per
submission for every (shards, threads), then checks `rollups verify`.
"""

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from with_postgres import find_bindir, throwaway_server  # noqa: E402

from bench.scale import LockSampler  # noqa: E402
from bench.server import production_env  # noqa: E402

QUIZ_SLUG = "fine-tuning-alignment-quiz"


def measure(quiz, questions, threads: int, submissions: int, url: str) -> dict:
    from django.db import connection

    from quizzes.services import AnswerInput, attempt_submit

    def work():
        for _ in range(submissions):
            answers = [AnswerInput(question.pk, [choices[0]]) for question, choices in questions]
            attempt_submit(quiz_id=quiz.pk, answers=answers, idempotency_key=str(uuid.uuid4()))
        connection.close()

    sampler = LockSampler(url)
    sampler.start()
    started = time.monotonic()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    sampler.stop.set()
    sampler.join()
    total = threads * submissions
    return {
        "threads": threads,
        "submissions_per_second": round(total / elapsed, 1),
        "lock_wait_ms_per_submission": round(sampler.lock_wait_seconds() * 1000 / total, 2),
        "load_average": round(os.getloadavg()[0], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL's server binaries were not found.")
    with throwaway_server(bindir) as server:
        import psycopg

        with psycopg.connect(server.url, autocommit=True) as connection:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                connection.execute(f"ALTER SYSTEM SET {setting} = on")
            connection.execute("SELECT pg_reload_conf()")
        env = production_env(server.url)
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
        fixtures = sorted(str(path) for path in (ROOT / "fixtures").glob("*.json"))
        subprocess.run([*manage, "load_seed", *fixtures], env=env, check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "glossary_backend.settings")
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from quizzes.models import Quiz

        quiz = Quiz.objects.get(slug=QUIZ_SLUG)
        questions = [
            (question, [choice.pk for choice in question.choices.all()])
            for question in quiz.questions.prefetch_related("choices")
        ]
        print("| shards | threads | submissions/s | lock wait ms / submission | load avg |")
        print("|---|---|---|---|---|")
        for shards in args.shards:
            settings.ROLLUP_SHARDS = shards
            for threads in args.threads:
                row = measure(quiz, questions, threads, args.submissions, server.url)
                print(
                    f"| {shards} | {threads} | {row['submissions_per_second']} | "
                    f"{row['lock_wait_ms_per_submission']} | {row['load_average']} |",
                    flush=True,
                )
        call_command("rollups", "verify")
    return 0


if __name__ == "__main__":
    sys.exit(main())
