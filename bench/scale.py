"""Scale benchmark: gunicorn with 1, 2 and 4 workers under one class submitting one quiz.

    python bench/scale.py [--seconds 30] [--learners 8] [--readers 8] [--workers 1 2 4]
                          [--shards 1 8] [--report FILE]

Starts a throwaway PostgreSQL server with durable commits (fsync and synchronous_commit
on, as in production: a commit waits for its WAL flush while it holds its row locks),
migrates it, loads the seed, and for each worker count serves the app with gunicorn on
loopback behind one trusted proxy (TRUSTED_PROXY_COUNT=1) and runs the locust scenario
of bench/locustfile_scale.py: learners, each submission from its own address, all
submitting the seed quiz, and readers loading term and chapter pages, without pauses.
Each worker count runs once per ROLLUP_SHARDS value: 1 is one roll-up row per key (the
hot row every submission of the quiz updates), 8 the default.

Where the time goes, per run: lock waits sampled from PostgreSQL's pg_stat_activity
every 2 ms (backend-seconds spent waiting for a lock, per submission), the CPU time of
the gunicorn workers and of the PostgreSQL server processes per request, and the load
average of the machine (other work on it slows everything; per-request costs are less
sensitive to it than throughput). Afterwards `rollups verify` must find the roll-ups
exact and every accepted submission stored. Exits non-zero when a check fails.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from with_postgres import find_bindir, throwaway_server  # noqa: E402

from bench.server import gunicorn, production_env  # noqa: E402

SAMPLE_SECONDS = 0.002
LOCK_WAITS = """SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'),
                       count(*) FILTER (WHERE state = 'active')
                FROM pg_stat_activity
                WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"""


class LockSampler(threading.Thread):
    """Counts, every SAMPLE_SECONDS, the backends waiting for a lock and those active."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.samples, self.waiting, self.active = url, 0, 0, 0
        self.elapsed = 0.0
        self.stop = threading.Event()

    def run(self):
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            started = time.monotonic()
            while not self.stop.is_set():
                waiting, active = connection.execute(LOCK_WAITS).fetchone()
                self.samples += 1
                self.waiting += waiting
                self.active += active
                time.sleep(SAMPLE_SECONDS)
            self.elapsed = time.monotonic() - started

    def lock_wait_seconds(self) -> float:
        """Backend-seconds spent waiting for locks (mean waiters x duration)."""
        return self.waiting / max(self.samples, 1) * self.elapsed


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def server_processes(port: int) -> list[psutil.Process]:
    """The gunicorn workers serving `port`."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "gunicorn" in cmdline and f"127.0.0.1:{port}" in cmdline:
            found.extend(process.children())
    return found


def postgres_processes(data: Path) -> list[psutil.Process]:
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    return [psutil.Process(postmaster), *psutil.Process(postmaster).children()]


def one_run(env, url, data, workers, seconds, learners, readers, workdir) -> dict:
    with gunicorn(env, workers=workers) as port:
        time.sleep(2)  # the workers boot
        app = server_processes(port)
        load_before = os.getloadavg()[0]
        app_cpu, db_cpu = cpu_seconds(app), cpu_seconds(postgres_processes(data))
        sampler = LockSampler(url)
        sampler.start()
        prefix = workdir / f"locust-{workers}-{env['ROLLUP_SHARDS']}"
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile_scale.py"),
             "--headless", "-u", str(learners + readers), "-r", str(learners + readers),
             "-t", f"{seconds}s", "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix),
             "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5"],
            env={**env, "SCALE_LEARNERS": str(learners), "SCALE_READERS": str(readers)},
            cwd=ROOT, check=False, timeout=seconds + 120,
        )  # fmt: skip
        sampler.stop.set()
        sampler.join()
        app_cpu = cpu_seconds(app) - app_cpu
        db_cpu = cpu_seconds(postgres_processes(data)) - db_cpu
        load_after = os.getloadavg()[0]
    empty = {"Request Count": "0", "Failure Count": "0", "Requests/s": "0", "50%": "0", "95%": "0"}
    with (Path(f"{prefix}_stats.csv")).open() as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    submit, term = rows.get("submit", empty), rows.get("term page", empty)
    reads = [rows[name] for name in ("term page", "chapter page") if name in rows]
    total = rows.get("Aggregated", empty)
    requests = int(total["Request Count"])
    submissions = int(submit["Request Count"])
    read_count = sum(int(row["Request Count"]) for row in reads)
    return {
        "workers": workers,
        "submissions_per_second": round(float(submit["Requests/s"]), 1),
        "reads_per_second": round(sum(float(row["Requests/s"]) for row in reads), 1),
        "submit_p50_ms": float(submit["50%"]),
        "submit_p95_ms": float(submit["95%"]),
        "read_p50_ms": float(term["50%"]),
        "read_p95_ms": float(term["95%"]),
        "failures": int(total["Failure Count"]),
        "lock_wait_ms_per_submission": round(
            sampler.lock_wait_seconds() * 1000 / max(submissions, 1), 2
        ),
        "mean_active_backends": round(sampler.active / max(sampler.samples, 1), 2),
        "app_cpu_ms_per_request": round(app_cpu * 1000 / max(requests, 1), 1),
        "db_cpu_ms_per_request": round(db_cpu * 1000 / max(requests, 1), 1),
        "requests": requests,
        "submissions": submissions,
        "reads": read_count,
        "load_average": f"{load_before:.1f} -> {load_after:.1f}",
    }


def run(
    seconds: int, learners: int, readers: int, worker_counts: list[int], shard_counts: list[int]
) -> dict:
    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL's server binaries were not found.")
    workdir = Path(tempfile.mkdtemp(prefix="glossary-scale-"))
    runs = []
    with throwaway_server(bindir) as server:
        import psycopg

        with psycopg.connect(server.url, autocommit=True) as connection:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                connection.execute(f"ALTER SYSTEM SET {setting} = on")
            connection.execute("SELECT pg_reload_conf()")
        env = production_env(server.url, TRUSTED_PROXY_COUNT="1")
        env["ALLOWED_HOSTS"] = "127.0.0.1"
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
        fixtures = sorted(str(path) for path in (ROOT / "fixtures").glob("*.json"))
        subprocess.run([*manage, "load_seed", *fixtures], env=env, check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        data = server.workdir / "data"
        for shards in shard_counts:
            for workers in worker_counts:
                run_env = {**env, "ROLLUP_SHARDS": str(shards)}
                result = one_run(run_env, server.url, data, workers, seconds, learners, readers,
                                 workdir)  # fmt: skip
                runs.append({"rollup_shards": shards, **result})
        verify = subprocess.run([*manage, "rollups", "verify"], env=env, cwd=ROOT,
                                capture_output=True, text=True)  # fmt: skip
        with psycopg.connect(server.url) as connection:
            stored = connection.execute("SELECT count(*) FROM quizzes_quizattempt").fetchone()[0]
    accepted = sum(run["submissions"] for run in runs)
    return {
        "conditions": {
            "cpus": os.cpu_count(),
            "seconds": seconds,
            "learners": learners,
            "readers": readers,
        },
        "runs": runs,
        "rollups_verify": verify.returncode == 0,
        "stored_attempts": stored,
        "submissions_sent": accepted,
        "ok": verify.returncode == 0
        and all(run["failures"] == 0 for run in runs)
        and stored >= accepted,
    }


COLUMNS = [
    ("rollup_shards", "shards"),
    ("workers", "workers"),
    ("submissions_per_second", "subm/s"),
    ("reads_per_second", "reads/s"),
    ("submit_p50_ms", "subm p50"),
    ("submit_p95_ms", "subm p95"),
    ("read_p50_ms", "read p50"),
    ("read_p95_ms", "read p95"),
    ("lock_wait_ms_per_submission", "lock wait/subm"),
    ("app_cpu_ms_per_request", "app CPU/req"),
    ("db_cpu_ms_per_request", "PG CPU/req"),
    ("load_average", "load avg"),
]


def markdown(report: dict) -> str:
    lines = [
        "| " + " | ".join(title for _, title in COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for run in report["runs"]:
        lines.append("| " + " | ".join(str(run[key]) for key, _ in COLUMNS) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--learners", type=int, default=8)
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--shards",
        type=int,
        nargs="+",
        default=[1, 8],
        help="ROLLUP_SHARDS values to compare (1: one roll-up row per key, before sharding)",
    )
    parser.add_argument("--report", type=Path, help="Also write the report here as JSON.")
    args = parser.parse_args()
    report = run(args.seconds, args.learners, args.readers, args.workers, args.shards)
    print(markdown(report))
    print(
        f"rollups verify: {'exact' if report['rollups_verify'] else 'DIFFERENCES'}; "
        f"stored attempts {report['stored_attempts']} for {report['submissions_sent']} sent"
    )
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
