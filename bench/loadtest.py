"""Bounded load test on loopback: the production server under 90% reads, 10% submissions.

    python bench/loadtest.py [--seconds 60] [--users 20] [--report FILE]

Starts a throwaway PostgreSQL server, migrates it and loads the seed, serves the app
with gunicorn (2 workers) on 127.0.0.1, runs the locust scenario of
bench/locustfile.py headless for the given time, then checks that no response was a
5xx, that every accepted submission is stored exactly once, and reports the numbers.
Exits non-zero when a check fails.
"""

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from strawberry.relay import to_base64  # noqa: E402
from with_postgres import find_bindir, throwaway_postgres  # noqa: E402

from bench.server import gunicorn, production_env  # noqa: E402


def stored_attempts(database_url: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT id, client_id, idempotency_key FROM quizzes_quizattempt"
        ).fetchall()


def run(seconds: int, users: int) -> dict:
    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL's server binaries were not found.")
    workdir = Path(tempfile.mkdtemp(prefix="glossary-load-"))
    results = workdir / "submissions.jsonl"
    with throwaway_postgres(bindir) as database_url:
        env = production_env(database_url, LOAD_RESULTS=str(results))
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
        fixtures = sorted(str(path) for path in (ROOT / "fixtures").glob("*.json"))
        subprocess.run([*manage, "load_seed", *fixtures], env=env, check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        with gunicorn(env) as port:
            subprocess.run(
                [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
                 "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
                 "--host", f"http://127.0.0.1:{port}", "--csv", str(workdir / "locust"),
                 "--only-summary", "--loglevel", "WARNING"],
                env=env, cwd=ROOT, check=False, timeout=seconds + 120,
            )  # fmt: skip
        rows = stored_attempts(database_url)
    return summarize(workdir, results, rows, seconds, users)


def summarize(workdir: Path, results: Path, rows: list[tuple], seconds: int, users: int) -> dict:
    with (workdir / "locust_stats.csv").open() as stats_file:
        total = next(row for row in csv.DictReader(stats_file) if row["Name"] == "Aggregated")
    failures = []
    failures_file = workdir / "locust_failures.csv"
    if failures_file.exists():
        with failures_file.open() as handle:
            failures = list(csv.DictReader(handle))
    outcomes = (
        [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    )
    sent = {(line["client"], line["sent"]) for line in outcomes if "sent" in line}
    outcomes = [line for line in outcomes if "sent" not in line]
    codes = Counter(code for outcome in outcomes for code in outcome.get("codes", []))
    accepted = {}
    for outcome in outcomes:
        if outcome.get("attempt"):
            accepted.setdefault((outcome["client"], outcome["key"]), set()).add(outcome["attempt"])
    stored = Counter((client, key) for _, client, key in rows)
    stored_ids = {(client, key): to_base64("QuizAttempt", pk) for pk, client, key in rows}
    server_errors = sum(1 for o in outcomes if o["status"] >= 500) + sum(
        int(f["Occurrences"]) for f in failures if f["Error"].split(":")[0].strip().startswith("5")
    )
    report = {
        "seconds": seconds,
        "users": users,
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "requests_per_second": round(float(total["Requests/s"]), 1),
        "median_ms": float(total["Median Response Time"]),
        "p95_ms": float(total["95%"]),
        "server_errors": server_errors,
        "submissions": len(outcomes),
        "accepted_keys": len(accepted),
        "retries_answered_alike": sum(1 for ids in accepted.values() if len(ids) == 1),
        "rate_limited": codes["RATE_LIMITED"],
        "other_error_codes": dict(codes - Counter({"RATE_LIMITED": codes["RATE_LIMITED"]})),
        "stored_attempts": len(rows),
        # Stored but never answered: in flight when the run stopped.
        "in_flight_at_stop": len(set(stored) - set(accepted)),
        "stored_exactly_once": (
            all(count == 1 for count in stored.values())
            and set(accepted) <= set(stored) <= sent
            and all(ids == {stored_ids[key]} for key, ids in accepted.items())
        ),
    }
    report["ok"] = (
        report["server_errors"] == 0 and report["failures"] == 0 and report["stored_exactly_once"]
    )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--report", type=Path, help="Also write the report here as JSON.")
    args = parser.parse_args()
    report = run(args.seconds, args.users)
    width = max(map(len, report))
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
