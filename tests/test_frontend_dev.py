"""Frontend development on one machine, offline: GraphiQL and a page on another port.

A development server runs as `make run` runs it (DEBUG from the .env-style setting,
SQLite, the seed), and Chromium may reach nothing but the two local servers: GraphiQL
must load from the project's own files, and a page served from another port must get
the README's chapter query answered across origins (CORS in DEBUG).
"""

import functools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings

from tests.conftest import ON_POSTGRES, QUIZ_FIXTURE, SEED_FIXTURE

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
pytestmark = [
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed"),
    # The server under test has its own SQLite file whatever the suite's database: once.
    pytest.mark.skipif(ON_POSTGRES, reason="runs once, in the SQLite run"),
]

FRONTEND_PAGE = """<!doctype html>
<html><body><pre id="result">waiting</pre><script>
fetch(%(api)s, {method: "POST", headers: {"Content-Type": "application/json"},
                body: JSON.stringify({query: %(query)s})})
  .then(response => response.json())
  .then(body => { document.getElementById("result").textContent = JSON.stringify(body); })
  .catch(error => { document.getElementById("result").textContent = "failed: " + error; });
</script></body></html>
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def readme_chapter_example() -> tuple[str, dict]:
    """The README's chapter page query and the response it shows."""
    readme = (settings.BASE_DIR / "README.md").read_text()
    query = re.search(r"```graphql\n(query ChapterPage.*?)```", readme, re.S).group(1)
    response = re.search(r"```graphql\nquery ChapterPage.*?```\s*```json\n(.*?)```", readme, re.S)
    return query, json.loads(response.group(1))


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    """`make run`'s steps on a throwaway SQLite file, then runserver on a free port."""
    folder = tmp_path_factory.mktemp("dev")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "ALLOWED_HOSTS", "CORS_ALLOWED_ORIGINS"}
    }
    env.update(DEBUG="true", DATABASE_URL=f"sqlite:///{folder}/db.sqlite3")
    manage = [sys.executable, "manage.py"]
    run = functools.partial(subprocess.run, env=env, cwd=settings.BASE_DIR, check=True,
                            capture_output=True)  # fmt: skip
    run([*manage, "migrate", "-v0"])
    run([*manage, "load_seed", str(SEED_FIXTURE), str(QUIZ_FIXTURE)])
    port = free_port()
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the development server did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def frontend(tmp_path, dev_server):
    """A static page on another port that runs the README's chapter query against the API."""
    query, _ = readme_chapter_example()
    page = FRONTEND_PAGE % {"api": json.dumps(f"{dev_server}/graphql"), "query": json.dumps(query)}
    (tmp_path / "index.html").write_text(page)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def offline_page(dev_server):
    """A Chromium page that may reach only loopback: anything else is cut off and listed."""
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update"],
        )  # fmt: skip
        page = browser.new_page()
        page.cut_off = []

        def only_loopback(route):
            if route.request.url.startswith("http://127.0.0.1:"):
                route.continue_()
            else:
                page.cut_off.append(route.request.url)
                route.abort()

        page.route("**/*", only_loopback)
        yield page
        browser.close()


def test_graphiql_loads_and_runs_a_query_without_a_cdn(dev_server, offline_page):
    """GraphiQL renders from the project's files and answers a query, network cut off."""
    page = offline_page
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(f"{dev_server}/graphql")
    page.wait_for_selector(".graphiql-container", timeout=20_000)
    page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
    page.evaluate(
        """() => document.querySelector('.graphiql-query-editor .CodeMirror')
                   .CodeMirror.setValue('{ chapters { totalCount } }')"""
    )
    page.click(".graphiql-execute-button")
    page.wait_for_function(
        """() => (document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror
                  .getValue() || '').includes('totalCount')""",
        timeout=20_000,
    )
    response = page.evaluate(
        "() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
    )
    assert json.loads(response) == {
        "data": {"chapters": {"totalCount": 1}},
        "extensions": {"cost": 2},
    }
    assert page.cut_off == []
    assert failed == []


def test_a_page_on_another_port_runs_the_readme_query(frontend, offline_page):
    """CORS in DEBUG lets a local frontend on any port read the API."""
    page = offline_page
    page.goto(frontend)
    page.wait_for_function(
        "() => document.getElementById('result').textContent !== 'waiting'", timeout=20_000
    )
    body = json.loads(page.text_content("#result"))
    # Every answer reports its cost; the README's example shows the data.
    assert body.pop("extensions") == {"cost": 220}
    _, expected = readme_chapter_example()
    # The README cuts the letters list short: it shows the first few.
    shown_letters = expected["data"]["chapter"].pop("letters")
    letters = body["data"]["chapter"].pop("letters")
    assert letters[: len(shown_letters)] == shown_letters
    assert body == expected
    assert page.cut_off == []
