"""The embedded database under load: 10,000 terms in one SQLite file, served by gunicorn.

`make bench-sqlite` generates size M's glossary (bench/data.py's shapes: 50 chapters of
200 terms with three see-also links each, 50 quizzes of 20 questions) into a throwaway
SQLite file with the production settings, then measures
- the chapter page (W2: 100 terms with their see-also) and search (W4) against the
  hand-written limit (bench/limit.py), with the SQL queries per request of each, and
- 8 submissions sent at once to gunicorn with 4 workers: every one must be stored.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bench import data  # noqa: E402
from bench.run import MEASURED, SUBMISSION, Client, compare, query_counts  # noqa: E402
from bench.server import gunicorn, production_env  # noqa: E402

CHAPTERS, TERMS_PER_CHAPTER, QUIZZES, QUESTIONS = 50, 200, 50, 20
PAGES = ["W2 chapter page", "W4 search, common word", "W4 search, typo"]


def generate() -> None:
    """Size M in the configured database, through the ORM (what an import would do)."""
    from django.db import transaction
    from django.utils import timezone

    from quizzes.models import Choice, Question, Quiz
    from terms.models import Chapter, Status, Term, TermRelation
    from terms.search import rebuild_search_index

    now = timezone.now()
    published = {"status": Status.PUBLISHED, "published_at": now}
    words, count = data.WORDS, len(data.WORDS)
    with transaction.atomic():
        Chapter.objects.bulk_create(
            Chapter(
                id=c, title=f"Chapter {c}", slug=f"chapter-{c}", description=f"About chapter {c}",
                position=c, **published,
            )
            for c in range(1, CHAPTERS + 1)
        )  # fmt: skip
        Term.objects.bulk_create(
            (
                Term(
                    id=t,
                    name=f"{words[(t * 7) % count].title()} {words[(t * 13) % count].title()} {t}",
                    slug=f"term-{t}",
                    abbreviation=f"{words[t % count][:3].upper()}{t}" if t % 10 == 0 else "",
                    definition=(
                        f"A {words[(t * 3) % count]} {words[(t * 5) % count]} that shapes the "
                        f"{words[(t * 11) % count]} of a {words[(t * 17) % count]} during "
                        f"{words[(t * 19) % count]}."
                    ),
                    chapter_id=1 + (t - 1) // TERMS_PER_CHAPTER,
                    **published,
                )
                for t in range(1, CHAPTERS * TERMS_PER_CHAPTER + 1)
            ),
            batch_size=2000,
        )
        pairs = set()
        for t in range(1, CHAPTERS * TERMS_PER_CHAPTER + 1):
            for step in (1, 2, 5):
                other = (t - 1) // 200 * 200 + 1 + ((t - 1) % 200 + step) % 200
                pairs |= {(t, other), (other, t)}
        TermRelation.objects.bulk_create(
            (TermRelation(from_term_id=a, to_term_id=b) for a, b in sorted(pairs)),
            batch_size=5000,
        )
        Quiz.objects.bulk_create(
            Quiz(
                id=q, title=f"Quiz {q}", slug=f"quiz-{q}", description=f"Questions on chapter {q}",
                chapter_id=q, pass_percentage=70, **published,
            )
            for q in range(1, QUIZZES + 1)
        )  # fmt: skip
        questions, choices = [], []
        for q in range(1, QUIZZES + 1):
            for p in range(1, QUESTIONS + 1):
                question = (q - 1) * QUESTIONS + p
                kind = "multiple" if p % 5 == 0 else "true_false" if p % 7 == 0 else "single"
                questions.append(
                    Question(
                        id=question, quiz_id=q, position=p, kind=kind,
                        prompt=f"Which term matches definition {p} of quiz {q}?",
                        term_id=(q - 1) * TERMS_PER_CHAPTER + p,
                        explanation="Because of the definition.",
                    )
                )  # fmt: skip
                for c in range(1, (2 if kind == "true_false" else 4) + 1):
                    correct = c == 1 or (c == 2 and kind == "multiple")
                    choices.append(
                        Choice(
                            id=(question - 1) * 4 + c, question_id=question, position=c,
                            text=f"Choice {c}", is_correct=correct,
                        )
                    )  # fmt: skip
        Question.objects.bulk_create(questions, batch_size=2000)
        Choice.objects.bulk_create(choices, batch_size=2000)
        rebuild_search_index()


def concurrent_submissions(port: int, count: int = 8) -> dict:
    """`count` submissions released at the same moment; each must come back scored."""
    query = SUBMISSION[0]
    barrier = threading.Barrier(count)
    outcomes: list = [None] * count

    def submit(index):
        client = Client(port)
        document = query()
        barrier.wait()
        try:
            elapsed, body = client.graphql(document)
            outcomes[index] = (elapsed, body)
        except RuntimeError as error:  # a non-200 answer
            outcomes[index] = (None, str(error))

    threads = [threading.Thread(target=submit, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = [
        body
        for _, body in outcomes
        if isinstance(body, dict)
        and not body.get("errors")
        and body["data"]["submitQuizAttempt"]["__typename"] == "QuizAttempt"
    ]
    failures = [body for _, body in outcomes if body not in stored]
    return {
        "sent": count,
        "stored": len(stored),
        "slowest_ms": round(max(elapsed or 0 for elapsed, _ in outcomes) * 1000, 1),
        "failures": failures[:3],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of 8 submissions")
    parser.add_argument("--report", type=Path, default=ROOT / "bench" / "results" / "sqlite.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{folder}/bench.sqlite3"
        env = production_env(
            database_url,
            ALLOWED_HOSTS="127.0.0.1,testserver",
            ROOT_URLCONF="bench.urls",
            SUBMISSIONS_PER_MINUTE="100000000",
            SUBMISSIONS_PER_HOUR="100000000",
        )
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True
        )
        os.environ.update(env)
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "glossary_backend.settings")
        django.setup()
        started = time.perf_counter()
        generate()
        report = {"data_seconds": round(time.perf_counter() - started, 1)}
        # Statistics after the bulk load, as `migrate` keeps them after migrations.
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True
        )

        from django.contrib.auth import get_user_model

        staff = get_user_model().objects.create_superuser("bench", "bench@example.com", None)
        counts = query_counts(staff)
        report["queries_per_request"] = {name: counts[name] for name in PAGES}
        with gunicorn(env, workers=2) as port:
            project, limit = Client(port), Client(port)
            for name in PAGES:
                graphql, path = dict(MEASURED)[name]
                report[name] = compare(
                    {
                        "project": lambda graphql=graphql: project.graphql(graphql),
                        "limit": lambda path=path: limit.get(path),
                    },
                    name,
                    args.repetitions,
                )
        with gunicorn(env, workers=4) as port:
            rounds = [concurrent_submissions(port) for _ in range(args.rounds)]
        report["concurrent_submissions"] = {
            "workers": 4,
            "rounds": len(rounds),
            "sent": sum(r["sent"] for r in rounds),
            "stored": sum(r["stored"] for r in rounds),
            "slowest_ms_median": statistics.median(r["slowest_ms"] for r in rounds),
            "failures": [f for r in rounds for f in r["failures"]][:3],
        }
    print(json.dumps(report, indent=2))
    args.report.parent.mkdir(exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n")
    failed = report["concurrent_submissions"]["stored"] != report["concurrent_submissions"]["sent"]
    unequal = any(c["project"] != c["limit"] for c in report["queries_per_request"].values())
    return 1 if failed or unequal else 0


if __name__ == "__main__":
    sys.exit(main())
