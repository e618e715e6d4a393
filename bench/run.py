"""Benchmarks: the GraphQL API against the practical limit and a graphene-django peer,
in one run, on PostgreSQL.

    python bench/run.py [--quick] [--repetitions N] [--report FILE]

Starts a throwaway PostgreSQL server (as `make test` does), migrates it, generates the
size M and L data in SQL (bench/data.py), and serves the app with gunicorn (2 workers)
on 127.0.0.1 with the practical-limit views of bench/limit.py beside it, and the peer
(bench/peer/, graphene-django in its own virtualenv, .venv-peer) with gunicorn
(2 workers) on another port. Then, per workload, after a warm-up, it sends the
project's request, the limit's and the peer's in turn (interleaved) for N repetitions,
checks that all return the same decoded JSON, and reports median and p95 latency,
ratios, SQL queries per request, and requests/s under a bounded loopback load. It
also times the CSV export of attempts against PostgreSQL's own COPY, with the export's
peak memory. --quick uses 100,000 attempts instead of 1,000,000 and fewer
repetitions; CI runs it as a smoke test.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from strawberry.relay import to_base64  # noqa: E402
from with_postgres import find_bindir, throwaway_postgres  # noqa: E402

from bench import data  # noqa: E402
from bench.server import gunicorn, production_env  # noqa: E402

WORKLOADS = {
    "W1 term page": (
        'query { term(slug: "term-1234") { id slug name abbreviation definition '
        "chapter { slug title } relatedTerms { slug name } } }",
        "/limit/term?slug=term-1234",
    ),
    "W2 chapter page": (
        'query { chapter(slug: "chapter-7") { title terms(first: 100) { totalCount edges { '
        "cursor node { slug name abbreviation expansion definition aliases updatedAt "
        "relatedTerms { slug } } } } } }",
        "/limit/chapter?slug=chapter-7",
    ),
    "W3 chapters x 100 terms": (
        "query { chapters(first: 50) { edges { node { slug title terms(first: 100) { edges { "
        "node { slug name } } } } } } }",
        "/limit/chapters",
    ),
    "W4 search, common word": (
        'query { search(query: "gradient", first: 20) { rank term { slug name } } }',
        "/limit/search?query=gradient",
    ),
    "W4 search, typo": (
        'query { search(query: "gradiant", first: 20) { rank term { slug name } } }',
        "/limit/search?query=gradiant",
    ),
    "W5 quiz page": (
        'query { quiz(slug: "quiz-3") { id title questions { id position prompt kind '
        "choices { id text } } } }",
        "/limit/quiz?slug=quiz-3",
    ),
}


# W6: a fresh idempotency key per request, the first choice of every question of quiz 3.
def _first_choices(quiz: int) -> str:
    return (
        "["
        + ", ".join(
            f'{{question: "{to_base64("Question", question)}", '
            f'choices: ["{to_base64("Choice", choice)}"]}}'
            for question, choice in data.first_choice_answers(quiz)
        )
        + "]"
    )


FIRST_CHOICES = _first_choices(3)
SUBMISSION = (
    lambda: (
        'mutation { submitQuizAttempt(input: {quiz: "'
        + to_base64("Quiz", 3)
        + '", answers: '
        + FIRST_CHOICES
        + ', idempotencyKey: "'
        + uuid.uuid4().hex
        + '"}) { __typename '
        "... on QuizAttempt { score maxScore percentage passed results { correct } } } }"
    ),
    lambda: f"/limit/submit?quiz=3&key={uuid.uuid4().hex}",
)
ANALYTICS = (
    'query { quizAnalytics(quiz: "UXVpejox") { summary { attempts meanPercentage '
    "medianPercentage } questions { facility discrimination } reliability { kr20 } } }",
    "/limit/analytics?slug=quiz-1",
)
MEASURED = [*WORKLOADS.items(), ("W6 submission", SUBMISSION), ("W7 quiz analytics", ANALYTICS)]


PEER_VENV = ROOT / ".venv-peer"
PEER_REQUIREMENTS = ROOT / "bench" / "peer" / "requirements.txt"
# The peer serves the part of the schema that W1-W5 read.
PEER_WORKLOADS = set(WORKLOADS)


def peer_python() -> str:
    """The peer's interpreter, its virtualenv created or updated from its requirements."""
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / "requirements.installed"
    wanted = PEER_REQUIREMENTS.read_text()
    if not (stamp.exists() and stamp.read_text() == wanted):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-qq", "-r", str(PEER_REQUIREMENTS)],
            check=True,
        )
        stamp.write_text(wanted)
    return str(python)


class Client:
    def __init__(self, port, session=None):
        self.connection = HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Cookie": f"sessionid={session}"} if session else {}
        self.last_headers = {}

    def graphql(self, query):
        body = json.dumps({"query": query})
        return self._send("POST", "/graphql", body, {"Content-Type": "application/json"})

    def trusted(self, query):
        """GET by documentId: the query registered as a trusted document."""
        from glossary_backend.documents import document_id_of

        return self.get("/graphql?" + urlencode({"documentId": document_id_of(query)}))

    def get(self, path):
        return self._send("GET", path, None, {})

    def _send(self, method, path, body, headers):
        started = time.perf_counter()
        self.connection.request(method, path, body=body, headers={**self.headers, **headers})
        response = self.connection.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
        self.last_headers = dict(response.getheaders())
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:300]!r}")
        return elapsed, json.loads(payload)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def fresh(request):
    """The request itself, or a new one each time from a factory (W6's fresh keys)."""
    return request() if callable(request) else request


def compare(sides, name, repetitions):
    """Interleaved runs of each side's request; `sides` maps a label to a callable that
    sends one request and returns (seconds, decoded JSON). The first side is the project."""
    for _ in range(3):  # warm-up
        for send in sides.values():
            send()
    times = {label: [] for label in sides}
    results = {}
    for _ in range(repetitions):
        for label, send in sides.items():
            elapsed, results[label] = send()
            times[label].append(elapsed)
    project, *others = sides
    # The project reports each operation's cost in `extensions`; the answers are the rest.
    answers = {
        label: {key: value for key, value in result.items() if key != "extensions"}
        for label, result in results.items()
    }
    for label in others:
        if answers[label] != answers[project]:
            raise AssertionError(f"{name}: the project and the {label} answered differently")
    row = {}
    for label, values in times.items():
        row[f"{label}_ms"] = round(statistics.median(values) * 1000, 2)
        row[f"{label}_p95_ms"] = round(percentile(values, 0.95) * 1000, 2)
    for label in others:
        row[f"vs_{label}"] = round(row[f"{project}_ms"] / row[f"{label}_ms"], 2)
    return row


def throughput(port, request, session, seconds=3.0, threads=8):
    """Requests/s of one request shape under a bounded loopback load."""
    deadline = time.monotonic() + seconds
    counts = []

    def worker():
        client = Client(port, session)
        done = 0
        while time.monotonic() < deadline:
            request(client)
            done += 1
        counts.append(done)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return round(sum(counts) / seconds, 1)


def query_counts(session_user):
    """SQL queries per request, in-process, for the project and the limit."""
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    client = DjangoClient()
    client.force_login(session_user)
    counts = {}
    for name, (query, path) in MEASURED:
        # Once first: the first submission of a rate-limit window also prunes old counters.
        client.post("/graphql", {"query": fresh(query)}, content_type="application/json")
        client.get(fresh(path))
        with CaptureQueriesContext(connection) as project:
            client.post("/graphql", {"query": fresh(query)}, content_type="application/json")
        with CaptureQueriesContext(connection) as limit:
            client.get(fresh(path))
        # Both share the session and user lookups of an authenticated request.
        counts[name] = {"project": len(project), "limit": len(limit)}
    return counts


def profile(session_user, prefixes, directory, requests=20):
    """pyinstrument profiles of the project's requests, in-process, written as text."""
    from django.test import Client as DjangoClient
    from pyinstrument import Profiler

    client = DjangoClient()
    client.force_login(session_user)
    directory.mkdir(parents=True, exist_ok=True)
    for name, (query, _) in MEASURED:
        if not any(name.startswith(prefix) for prefix in prefixes):
            continue
        for _ in range(3):  # warm-up
            client.post("/graphql", {"query": fresh(query)}, content_type="application/json")
        profiler = Profiler(interval=0.0005)
        with profiler:
            for _ in range(requests):
                client.post("/graphql", {"query": fresh(query)}, content_type="application/json")
        output = directory / f"profile-{'-'.join(name.replace(',', '').split()).lower()}.txt"
        output.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
        print(f"{name}: {requests} requests profiled, written to {output}")


def export_benchmark(env, database_url, attempts, repetitions=3):
    """The export command's time and peak memory against COPY ... TO STDOUT of the rows;
    medians of interleaved repetitions, the highest peak."""
    import psycopg

    def export(since):
        command = [
            sys.executable, "manage.py", "export_quiz_analytics", "--dataset", "attempts",
            "--format", "csv", "--output", os.devnull,
        ]  # fmt: skip
        if since:
            command += ["--since", since]
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        if status:
            raise RuntimeError("the export failed")
        return time.perf_counter() - started, usage.ru_maxrss / 1024

    def copy_all():
        with psycopg.connect(database_url) as connection:
            started = time.perf_counter()
            with connection.cursor().copy(
                "COPY (SELECT a.id, q.slug, a.client_id, a.started_at, a.submitted_at, "
                "extract(epoch FROM a.duration), a.score, a.max_score, a.percentage, a.passed "
                "FROM quizzes_quizattempt a JOIN quizzes_quiz q ON q.id = a.quiz_id "
                "ORDER BY a.id) TO STDOUT WITH CSV"
            ) as copy:
                for _ in copy:
                    pass
            return time.perf_counter() - started

    # Since yesterday: attempts are one a second back from now, so between 86,400 and
    # 172,800 of them (all of them in quick mode); the count is reported.
    window = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    with psycopg.connect(database_url) as connection:
        window_rows = connection.execute(
            "SELECT count(*) FROM quizzes_quizattempt WHERE submitted_at >= %s::date", [window]
        ).fetchone()[0]
    runs = {"window": [], "all": [], "copy": []}
    for _ in range(repetitions):
        runs["window"].append(export(window))
        runs["all"].append(export(None))
        runs["copy"].append((copy_all(), 0))
    results = {}
    for label in ("window", "all"):
        results[f"export_{label}_s"] = round(statistics.median(t for t, _ in runs[label]), 2)
        results[f"export_{label}_peak_rss_mb"] = round(max(rss for _, rss in runs[label]), 1)
    results["copy_all_s"] = round(statistics.median(t for t, _ in runs["copy"]), 2)
    results["export_vs_copy"] = round(results["export_all_s"] / results["copy_all_s"], 2)
    results["export_window_rows"] = window_rows
    results["attempts"] = attempts
    return results


def trusted_documents_benchmark(port, cached_port, peer_port, repetitions):
    """W1-W5 as an anonymous frontend sends them: GET by documentId, against the limit
    view and the peer (anonymous too), and the same GET answered from the response cache."""
    project, cached = Client(port), Client(cached_port)
    limit, peer = Client(port), Client(peer_port)
    latency = {}
    for name, (query, path) in WORKLOADS.items():
        sides = {
            "project": lambda q=query: project.trusted(q),
            "limit": lambda p=path: limit.get(p),
            "peer": lambda q=query: peer.graphql(q),
            "cached": lambda q=query: cached.trusted(q),
        }
        row = compare(sides, name, repetitions)
        row["cached_vs_limit"] = round(row["cached_ms"] / row["limit_ms"], 2)
        if cached.last_headers.get("Cache-Control", "").split(",")[0] != "public":
            raise AssertionError(f"{name}: the trusted GET was not a public answer")
        latency[name] = row
    return latency


def trusted_table(report) -> str:
    """The trusted-documents table of docs/performance.md."""
    lines = [
        "| workload | project ms | limit ms | peer ms | cached ms | project / limit "
        "| project / peer | cached / limit |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in report["trusted_get"].items():
        lines.append(
            f"| {name} | {row['project_ms']} | {row['limit_ms']} | {row['peer_ms']} "
            f"| {row['cached_ms']} | {row['vs_limit']} | {row['vs_peer']} "
            f"| {row['cached_vs_limit']} |"
        )
    return "\n".join(lines) + "\n"


def peer_versions():
    script = (
        "import json; from importlib.metadata import version; "
        "print(json.dumps({name: version(name) for name in ('graphene', 'graphene-django')}))"
    )
    output = subprocess.run([peer_python(), "-c", script], capture_output=True, text=True)
    return json.loads(output.stdout)


def environment():
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    from importlib.metadata import version

    import django

    return {
        "commit": commit,
        "python": platform.python_version(),
        "django": django.get_version(),
        "strawberry-graphql": version("strawberry-graphql"),
        "strawberry-graphql-django": version("strawberry-graphql-django"),
        **peer_versions(),
        "postgresql": find_bindir().parent.name,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repetitions", type=int)
    parser.add_argument("--report", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    parser.add_argument(
        "--profile",
        action="append",
        metavar="WORKLOAD",
        help="profile the project's requests of the workloads whose names start with this "
        '(e.g. "W5"), in-process with pyinstrument, instead of benchmarking',
    )
    args = parser.parse_args()
    attempts = 100_000 if args.quick else 1_000_000
    repetitions = args.repetitions or (5 if args.quick else 30)
    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL's server binaries were not found.")

    with throwaway_postgres(bindir) as database_url:
        env = production_env(
            database_url,
            ALLOWED_HOSTS="127.0.0.1,testserver",
            ROOT_URLCONF="bench.urls",
            DATABASE_STATEMENT_TIMEOUT_MS="0",
            # W6 measures submissions, not the rate limit (which still counts each one).
            SUBMISSIONS_PER_MINUTE="100000000",
            SUBMISSIONS_PER_HOUR="100000000",
        )
        os.environ.update(env)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True
        )
        report = {
            "environment": environment(),
            "data_seconds": data.generate(database_url, attempts=attempts),
        }
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "manage.py", "rollups", "rebuild"], env=env, cwd=ROOT, check=True
        )
        report["data_seconds"]["roll-ups"] = round(time.perf_counter() - started, 1)

        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "glossary_backend.settings")
        django.setup()
        from django.contrib.auth import get_user_model
        from django.contrib.sessions.backends.db import SessionStore

        from terms.search import rebuild_search_index

        # The generator writes terms with SQL, around the saves that index them.
        started = time.perf_counter()
        rebuild_search_index()
        report["data_seconds"]["search index"] = round(time.perf_counter() - started, 1)

        staff = get_user_model().objects.create_superuser("bench", "bench@example.com", None)
        session = SessionStore()
        session["_auth_user_id"] = str(staff.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = staff.get_session_auth_hash()
        session.save()

        from glossary_backend.documents import ManifestEntry, document_id_of, documents_register

        registered = documents_register(
            entries=[ManifestEntry(document_id_of(query), query) for query, _ in WORKLOADS.values()]
        )
        assert not registered.errors, registered.errors

        if args.profile:
            profile(staff, args.profile, args.report.parent)
            return 0
        report["queries_per_request"] = query_counts(staff)
        peer_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.peer.settings"}
        key = session.session_key
        # The project's own server without its response cache (measuring the origin's
        # work); a second one with it, for the cached path.
        uncached_env = {**env, "GRAPHQL_RESPONSE_CACHE_SECONDS": "0"}
        with (
            gunicorn(uncached_env) as port,
            gunicorn(env) as cached_port,
            gunicorn(peer_env, python=peer_python()) as peer_port,
        ):
            report["trusted_get"] = trusted_documents_benchmark(
                port, cached_port, peer_port, repetitions
            )
            project, limit, peer = Client(port, key), Client(port, key), Client(peer_port, key)
            latency = {}
            for name, (query, path) in MEASURED:
                sides = {
                    "project": lambda q=query: project.graphql(fresh(q)),
                    "limit": lambda p=path: limit.get(fresh(p)),
                }
                if name in PEER_WORKLOADS:
                    sides["peer"] = lambda q=query: peer.graphql(fresh(q))
                latency[name] = compare(sides, name, repetitions)
                if name in PEER_WORKLOADS:
                    # Counted after the warm-up: a worker's first request also sets up its
                    # database connection (type lookups of django.contrib.postgres).
                    report["queries_per_request"][name]["peer"] = int(
                        peer.last_headers["X-SQL-Queries"]
                    )
            report["latency"] = latency
            report["requests_per_second"] = {
                name: {
                    "project": throughput(port, lambda c, q=query: c.graphql(q), key),
                    "limit": throughput(port, lambda c, p=path: c.get(p), key),
                    "peer": throughput(peer_port, lambda c, q=query: c.graphql(q), key),
                }
                for name, (query, path) in WORKLOADS.items()
            }
        report["export"] = export_benchmark(env, database_url, attempts)

    print_report(report)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n")
    args.report.with_suffix(".md").write_text(markdown_table(report) + "\n" + trusted_table(report))
    print(f"\nReport written to {args.report} (table for docs: {args.report.with_suffix('.md')})")
    return 0


SIDES = ["project", "limit", "peer"]


def report_rows(report):
    """Per workload: its name, "median (p95)" per side, the two ratios, the query counts
    and the requests/s per side, "-" where a side was not measured."""
    for name, row in report["latency"].items():
        queries = report["queries_per_request"][name]
        rps = report["requests_per_second"].get(name, {})
        yield (
            name,
            [
                f"{row[side + '_ms']} ({row[side + '_p95_ms']})" if side + "_ms" in row else "-"
                for side in SIDES
            ],
            row["vs_limit"],
            row.get("vs_peer", "-"),
            "/".join(str(queries[side]) for side in SIDES if side in queries),
            [rps.get(side, "-") for side in SIDES],
        )


def markdown_table(report) -> str:
    """The latency table of docs/performance.md."""
    lines = [
        "| workload | project ms (p95) | limit ms (p95) | peer ms (p95) | project / limit "
        "| project / peer | queries project / limit / peer | req/s project / limit / peer |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, cells, vs_limit, vs_peer, queries, rps in report_rows(report):
        lines.append(
            f"| {name} | {' | '.join(cells)} | {vs_limit} | {vs_peer} "
            f"| {queries.replace('/', ' / ')} | {' / '.join(map(str, rps))} |"
        )
    return "\n".join(lines) + "\n"


def print_report(report):
    print(f"\nData generation (s): {report['data_seconds']}")
    print("\nMedian ms (p95) per request; ratios of medians; SQL queries; requests/s")
    print(
        f"{'workload':<26}"
        + "".join(f"{side + ' ms':>18}" for side in SIDES)
        + f"{'/limit':>8}{'/peer':>7}{'queries':>10}"
        + "".join(f"{side + ' rps':>13}" for side in SIDES)
    )
    for name, cells, vs_limit, vs_peer, queries, rps in report_rows(report):
        print(
            f"{name:<26}"
            + "".join(f"{cell:>18}" for cell in cells)
            + f"{vs_limit:>8}{vs_peer:>7}{queries:>10}"
            + "".join(f"{value:>13}" for value in rps)
        )
    print("\nW1-W5 as trusted documents over GET, anonymous (median ms):")
    print(trusted_table(report))
    print(f"\nExport: {report['export']}")


if __name__ == "__main__":
    sys.exit(main())
