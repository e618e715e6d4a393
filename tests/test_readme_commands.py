"""Every command the README shows works as written, in a fresh copy of the project,
after `make run`'s setup and without any environment of its own.

The README's `make` targets and `manage.py` commands are listed here, each with what
this test runs for it (the very text the README shows) or why it is not run; a command
added to the README without an entry here fails the first test.
"""

import json
import os
import pty
import re
import select
import shutil
import subprocess
import time

import pytest
from django.conf import settings

from tests.conftest import ON_POSTGRES

README = settings.BASE_DIR / "README.md"
PYTHON = ".venv/bin/python manage.py"
SEED_QUIZ = "fine-tuning-alignment-quiz"

# What the README mentions -> the commands run for it, in this order, or why none.
MAKE_TARGETS = {
    "run": "serves until stopped; `make setup` (its steps before serving) runs first",
    "superuser": ["make superuser"],
    "help": ["make help"],
    "test": "the suite this test belongs to",
    "test-sqlite": "the suite this test belongs to",
    "test-postgres": "the suite this test belongs to",
    "lint": "CI runs it (.ci/run)",
    "format": "rewrites files; `make lint` (CI) checks the same",
    "checks": "CI runs it (.ci/run)",
    "schema": "tests/test_schema.py checks its output",
    "loadtest": "needs PostgreSQL and a minute; CI runs its short version (tests/test_load.py)",
    "loadtest-scale": "needs PostgreSQL and minutes of load; docs/performance.md has its table",
    "bench": "needs PostgreSQL and many minutes; CI runs `make bench-quick`",
    "bench-quick": "CI runs it (.ci/run)",
    "bench-sqlite": "minutes of benchmarking; its checks run in tests/test_sqlite.py",
    "graphiql": "needs npm and the network; its files are committed",
    "worker": "runs until stopped; its two commands run below (delivery_clock, db_worker)",
}
MANAGE_COMMANDS = {
    "load_seed": [f"{PYTHON} load_seed fixtures/*.json"],
    "import_terms": [
        f"{PYTHON} import_terms fixtures/terms.tsv --chapter fine-tuning-alignment-terms --dry-run"
    ],
    "search_index": [f"{PYTHON} search_index verify", f"{PYTHON} search_index rebuild"],
    "generate_quiz": [
        f"{PYTHON} generate_quiz --chapter fine-tuning-alignment-terms --questions 10 --seed 7"
    ],
    "seed_attempts": [f"{PYTHON} seed_attempts --quiz {SEED_QUIZ} --count 5000 --seed 1"],
    "export_quiz_analytics": [
        f"{PYTHON} export_quiz_analytics --dataset attempts --format csv --quiz {SEED_QUIZ} "
        "--output attempts.csv"
    ],
    "rollups": [f"{PYTHON} rollups verify", f"{PYTHON} rollups rebuild"],
    # After `make superuser`: the token is minted for the first superuser.
    "preview_token": [f"{PYTHON} preview_token term lora --minutes 30"],
    "record_revisions": [f"{PYTHON} record_revisions"],
    "export_glossary": [f"{PYTHON} export_glossary --format ttl --output glossary.ttl"],
    "refresh_term_mentions": [f"{PYTHON} refresh_term_mentions --check"],
    "webhooks": [f"{PYTHON} webhooks list"],
    "delivery_clock": [f"{PYTHON} delivery_clock --once"],
    "db_worker": [f"{PYTHON} db_worker --batch"],
    "rqworker": "needs Redis and TASKS_BACKEND=rq; tests/delivery/test_delivery.py runs an "
    "RQ worker on a real Redis",
    "documents": [
        f"{PYTHON} documents register docs/persisted-query-manifest.json",
        f"{PYTHON} documents list",
        f"{PYTHON} documents remove "
        "sha256:2f833ffe88ce0c07aa89c895290df564cafef06b77a6f82bf9657aa697038f10",
    ],
    "createsuperuser": "`make superuser` runs it",
    "migrate": "deployment, with production settings; `make setup` runs it",
    "collectstatic": "deployment, with production settings",
    "check": "deployment check; `make checks` (CI) runs it",
}


def readme_code() -> str:
    """The README's code: fenced blocks and inline code spans."""
    text = README.read_text()
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return "\n".join(blocks + spans)


def test_every_readme_command_is_listed_here():
    """A make target or manage.py command new to the README needs an entry above."""
    code = readme_code()
    assert set(re.findall(r"\bmake ([a-z][a-z-]*)", code)) == set(MAKE_TARGETS)
    assert set(re.findall(r"manage\.py ([a-z_]+)", code)) == set(MANAGE_COMMANDS)
    readme = " ".join(README.read_text().split())
    for commands in [*MAKE_TARGETS.values(), *MANAGE_COMMANDS.values()]:
        for command in commands if isinstance(commands, list) else []:
            assert command in readme, f"not in the README as written: {command}"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """The project's files as git has them, in a new folder, after `make setup`.

    The installed virtualenv is linked in, not installed again; everything else (the
    database, .env, the development key) is made there by the Makefile.
    """
    folder = tmp_path_factory.mktemp("checkout") / "glossary-backend"
    files = (
        subprocess.run(
            ["git", "ls-files", "-z"], cwd=settings.BASE_DIR, capture_output=True, check=True
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = settings.BASE_DIR / name
        if source.is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    (folder / ".venv").symlink_to(settings.BASE_DIR / ".venv")
    env = {"PATH": os.environ["PATH"], "HOME": str(folder), "LANG": "C.UTF-8"}
    # -o: the linked virtualenv counts as installed, whatever the files' times.
    make = [
        "make",
        "-o",
        ".venv/bin/python",
        "-o",
        ".venv/.installed",
        "-o",
        ".venv/.installed-dev",
    ]
    subprocess.run([*make, "setup"], cwd=folder, env=env, check=True, capture_output=True)
    return folder, env, make


def run_interactive(command, answers, *, cwd, env) -> str:
    """Run `command` on a terminal, answering each prompt in turn; returns what it showed."""
    main, child = pty.openpty()
    process = subprocess.Popen(command, stdin=child, stdout=child, stderr=child, cwd=cwd, env=env)
    os.close(child)
    output, answered, deadline = b"", 0, time.monotonic() + 120
    while time.monotonic() < deadline:
        if select.select([main], [], [], 1)[0]:
            try:
                chunk = os.read(main, 1024)
            except OSError:  # the terminal closed with the command
                break
            if not chunk:
                break
            output += chunk
        if answered < len(answers):
            prompt, reply = answers[answered]
            seen_before = [earlier for earlier, _ in answers[:answered]].count(prompt)
            if output.count(prompt.encode()) > seen_before:
                os.write(main, reply.encode() + b"\n")
                answered += 1
    os.close(main)
    assert process.wait(timeout=30) == 0, output.decode(errors="replace")
    return output.decode(errors="replace")


@pytest.mark.skipif(ON_POSTGRES, reason="runs once, in the SQLite run")
def test_readme_commands_work_as_written(checkout):
    """Each command runs in the fresh copy as the README shows it, with no exports."""
    folder, env, make = checkout
    # The account first, as a newcomer makes it: preview_token mints for it.
    output = run_interactive(
        [*make, "superuser"],
        [
            ("Username", "newcomer"),
            ("Email address", "newcomer@example.com"),
            ("Password: ", "a-long-and-unusual-passphrase"),
            ("Password (again)", "a-long-and-unusual-passphrase"),
        ],
        cwd=folder,
        env=env,
    )
    assert "Superuser created successfully." in output
    for commands in MANAGE_COMMANDS.values():
        for command in commands if isinstance(commands, list) else []:
            result = subprocess.run(
                ["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True
            )
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    assert (folder / "attempts.csv").read_text().startswith("attempt_id,attempt_global_id,quiz_id,")
    result = subprocess.run([*make, "help"], cwd=folder, env=env, capture_output=True, text=True)
    assert result.returncode == 0
    assert "make run" in result.stdout


def show_settings(folder, env, *names) -> list[str]:
    """The settings' values (repr) in the copy, or the last line of the error it gives."""
    script = (
        "import json; from django.conf import settings; "
        f"print(json.dumps([repr(getattr(settings, name, None)) for name in {names!r}]))"
    )
    result = subprocess.run(
        [".venv/bin/python", "manage.py", "shell", "-c", script],
        cwd=folder, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode:
        return [result.stderr.strip().splitlines()[-1]]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(ON_POSTGRES, reason="runs once, in the SQLite run")
def test_dotenv_is_read_and_the_environment_wins(checkout):
    """`make run`'s .env turns on development mode; a variable set outside wins over it."""
    folder, env, _ = checkout
    assert show_settings(folder, env, "DEBUG") == ["True"]
    assert show_settings(folder, {**env, "DEBUG": "false"}, "DEBUG") == [
        "django.core.exceptions.ImproperlyConfigured: "
        "The SECRET_KEY environment variable is required when DEBUG is off."
    ]


@pytest.mark.skipif(ON_POSTGRES, reason="runs once, in the SQLite run")
def test_local_origins_are_allowed_only_in_development(checkout):
    """DEBUG without CORS_ALLOWED_ORIGINS allows local origins; otherwise nothing changes."""
    folder, env, _ = checkout
    names = ("CORS_ALLOWED_ORIGINS", "CORS_ALLOWED_ORIGIN_REGEXES")
    local = r"['^https?://(localhost|127\\.0\\.0\\.1|\\[::1\\])(:\\d+)?$']"
    assert show_settings(folder, env, *names) == ["[]", local]
    production = {**env, "DEBUG": "false", "SECRET_KEY": "x" * 50}
    assert show_settings(folder, production, *names) == ["[]", "None"]
    chosen = {**env, "CORS_ALLOWED_ORIGINS": "http://localhost:3000"}
    assert show_settings(folder, chosen, *names) == ["['http://localhost:3000']", "None"]
