"""End to end in a real browser: editors publish a term, author a quiz on one page and
import terms; staff read the quiz dashboard; every admin page fits a laptop's width.

Drives Debian's Chromium with Playwright against the live test server. Screenshots go to
test-artifacts/ (git-ignored). Skipped, with the reason, where Chromium or Playwright
is missing (CI installs both), and on SQLite, whose in-memory test database the live
server's request threads would have to share through one connection.
"""

import json
import shutil
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.conftest import QUIZ_FIXTURE, SEED_FIXTURE

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = settings.BASE_DIR / "test-artifacts"
TERM_QUERY = 'query { term(slug: "browser-tested-term") { name chapter { slug } } }'

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed"),
    # serialized_rollback: earlier transactional tests flush the groups that data
    # migrations created; this restores them.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def browser(monkeypatch, settings):
    # Playwright's sync API runs an event loop in this thread; the ORM calls made here
    # between browser steps are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )  # fmt: skip
        yield browser
        browser.close()


def log_in(browser, base_url, username, password, width=1280, height=900):
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")
    return page


def anonymous_term(browser, base_url):
    context = browser.new_context()
    response = context.request.post(
        f"{base_url}/graphql",
        data=json.dumps({"query": TERM_QUERY}),
        headers={"content-type": "application/json"},
    )
    assert response.status == 200
    term = response.json()["data"]["term"]
    context.close()
    return term


def test_editor_publishes_a_term_and_staff_read_the_dashboard(
    browser, live_server, django_user_model
):
    """Draft terms stay private until published; the dashboard draws seeded attempts."""
    from django.contrib.auth.models import Group

    call_command("loaddata", SEED_FIXTURE, QUIZ_FIXTURE, verbosity=0)
    call_command("seed_attempts", quiz="fine-tuning-alignment-quiz", count=300, seed=1)
    editor = django_user_model.objects.create_user(
        "editor", password="editor-pass-1", is_staff=True
    )
    editor.groups.add(Group.objects.get(name="Editors"))
    django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-pass-1")
    base = live_server.url

    page = log_in(browser, base, "editor", "editor-pass-1")
    page.goto(f"{base}/admin/terms/term/add/")
    page.locator("#id_name").press_sequentially("Browser Tested Term")
    assert page.input_value("#id_slug") == "browser-tested-term"  # prepopulated by the admin
    page.click("#id_chapter + .select2 .select2-selection")
    page.fill(".select2-search__field", "Fine")
    page.click(".select2-results__option >> text=Fine-Tuning & Alignment Terms")
    page.fill("#id_definition", "A term created by the browser test.")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    page.screenshot(path=ARTIFACTS / "term-saved-as-draft.png", full_page=True)

    assert anonymous_term(browser, base) is None

    page.goto(f"{base}/admin/terms/term/?q=Browser")
    page.check("input.action-select")
    page.select_option("select[name=action]", "make_published")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist .success")
    assert "1 term published." in page.inner_text(".messagelist")
    page.screenshot(path=ARTIFACTS / "term-published.png", full_page=True)

    assert anonymous_term(browser, base) == {
        "name": "Browser Tested Term",
        "chapter": {"slug": "fine-tuning-alignment-terms"},
    }

    staff_page = log_in(browser, base, "boss", "boss-pass-1")
    staff_page.goto(f"{base}/admin/quizzes/quiz/")
    staff_page.click("text=Dashboard")
    staff_page.wait_for_selector("#score-distribution svg rect.bar")
    histogram = staff_page.eval_on_selector_all(
        "#score-distribution rect.bar", "bars => bars.map(b => Number(b.dataset.value))"
    )
    assert len(histogram) == 15  # raw scores 0..14
    assert sum(histogram) == 300
    assert staff_page.get_attribute("input[name=since]", "type") == "date"
    heights = staff_page.eval_on_selector_all(
        "#facility rect.bar", "bars => bars.map(b => b.getBoundingClientRect().height)"
    )
    assert len(heights) == 14
    assert all(height > 0 for height in heights)
    assert staff_page.inner_text("#kpi-attempts") == "300"
    assert staff_page.locator("#most-missed a").count() > 0
    staff_page.screenshot(path=ARTIFACTS / "quiz-dashboard.png", full_page=True)


def test_editor_undoes_a_see_also_edit_schedules_and_previews(
    browser, live_server, django_user_model, settings
):
    """Edit LoRA's see-also, read the diff, restore the previous version; schedule a
    draft term and open its preview link, which the API honours as a frontend would."""
    from django.contrib.auth.models import Group

    from terms.models import Term

    call_command("loaddata", SEED_FIXTURE, verbosity=0)
    call_command("record_revisions", verbosity=0)
    editor = django_user_model.objects.create_user(
        "editor", password="editor-pass-1", is_staff=True
    )
    editor.groups.add(Group.objects.get(name="Editors"))
    base = live_server.url
    settings.FRONTEND_PREVIEW_URL = (
        f"{base}/frontend/draft?token={{token}}&type={{type}}&slug={{slug}}"
    )
    lora = Term.objects.get(slug="lora")
    links_before = set(lora.related_terms.values_list("slug", flat=True))

    page = log_in(browser, base, "editor", "editor-pass-1")
    page.goto(f"{base}/admin/terms/term/{lora.pk}/change/")
    page.click("#id_see_also + .select2 .select2-selection")
    page.keyboard.type("DPO")
    page.click(".select2-results__option >> text=DPO")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert "dpo" in set(lora.related_terms.values_list("slug", flat=True))

    page.click("a.historylink")
    diff = page.locator("#revision-history tr.revision").first
    assert "See also" in diff.inner_text()
    assert "DPO" in diff.locator("td.after").inner_text()
    page.screenshot(path=ARTIFACTS / "term-history-diff.png", full_page=True)
    page.locator("#revision-history tr.revision").nth(1).locator(".restore-button").click()
    page.wait_for_selector(".messagelist .success")
    assert "as a new version" in page.inner_text(".messagelist")
    assert set(lora.related_terms.values_list("slug", flat=True)) == links_before

    draft = Term.objects.create(
        chapter=lora.chapter, name="Scheduled Term", slug="scheduled-term",
        definition="Goes live tomorrow.",
    )  # fmt: skip
    page.goto(f"{base}/admin/terms/term/{draft.pk}/change/")
    page.select_option("#id_status", "published")
    page.fill("#id_go_live_at_0", "2099-01-01")
    page.fill("#id_go_live_at_1", "09:00:00")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    page.goto(f"{base}/admin/terms/term/?schedule=scheduled")
    assert "Scheduled for 2099-01-01 09:00" in page.inner_text("#result_list")

    page.goto(f"{base}/admin/terms/term/{draft.pk}/change/")
    with page.context.expect_page() as opened:
        page.click("a.preview-link")
    preview = opened.value
    preview.wait_for_load_state()
    query = parse_qs(urlsplit(preview.url).query)
    assert (query["type"], query["slug"]) == (["term"], ["scheduled-term"])
    # What a Next.js draft-mode route handler does with the token, without any session.
    frontend_server = browser.new_context().request
    document = json.dumps({"query": 'query { term(slug: "scheduled-term") { slug } }'})
    answered = frontend_server.post(
        f"{base}/graphql",
        data=document,
        headers={"content-type": "application/json", "x-preview-token": query["token"][0]},
    )
    assert answered.json()["data"] == {"term": {"slug": "scheduled-term"}}
    assert answered.headers["cache-control"] == "private, no-store"
    anonymous = frontend_server.post(
        f"{base}/graphql", data=document, headers={"content-type": "application/json"}
    )
    assert anonymous.json()["data"] == {"term": None}


def make_editor(django_user_model):
    from django.contrib.auth.models import Group

    editor = django_user_model.objects.create_user(
        "editor", password="editor-pass-1", is_staff=True
    )
    editor.groups.add(Group.objects.get(name="Editors"))
    return editor


# The pages editors and analysts use: lists, change forms, the quiz page, the dashboard.
WIDTH_PAGES = {
    "index": "/admin/",
    "term-list": "/admin/terms/term/",
    "term-change": "/admin/terms/term/{lora}/change/",
    "term-add": "/admin/terms/term/add/",
    "term-import": "/admin/terms/term/import/",
    "editorial-report": "/admin/terms/term/editorial-report/",
    "chapter-list": "/admin/terms/chapter/",
    "chapter-change": "/admin/terms/chapter/{chapter}/change/",
    "quiz-list": "/admin/quizzes/quiz/",
    "quiz-change": "/admin/quizzes/quiz/{quiz}/change/",
    "quiz-add": "/admin/quizzes/quiz/add/",
    "quiz-dashboard": "/admin/quizzes/quiz/{quiz}/analytics/",
    "question-list": "/admin/quizzes/question/",
    "attempt-list": "/admin/quizzes/quizattempt/",
    "audit-log": "/admin/terms/auditentry/",
    "history": "/admin/terms/term/{lora}/history/",
}
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const sticking_out = Array.from(document.querySelectorAll("body *"))
    .filter((e) => e.getBoundingClientRect().right > width + 1 && e.getClientRects().length)
    .map((e) => `${e.tagName}#${e.id}.${e.className}`);
  const scrolling = Array.from(document.querySelectorAll("body *"))
    .filter((e) => ["auto", "scroll"].includes(getComputedStyle(e).overflowX)
                   && e.scrollWidth > e.clientWidth + 1 && e.id !== "nav-sidebar")
    .map((e) => `${e.tagName}#${e.id}.${e.className} scrolls ${e.scrollWidth}>${e.clientWidth}`);
  return {pageWidth: document.documentElement.scrollWidth, stickingOut: sticking_out.slice(0, 5),
          scrolling: scrolling.slice(0, 5)};
}"""


@pytest.mark.parametrize("width", [1366, 1920])
def test_every_admin_page_fits_the_screen(browser, live_server, django_user_model, width):
    """At 1366x768 and 1920 wide, no admin page an editor or analyst uses is wider than
    the window or scrolls sideways inside; full-page screenshots are kept as artifacts."""
    from quizzes.models import Quiz
    from terms.models import Chapter, Term

    call_command("loaddata", SEED_FIXTURE, QUIZ_FIXTURE, verbosity=0)
    call_command("seed_attempts", quiz="fine-tuning-alignment-quiz", count=100, seed=1)
    call_command("record_revisions", verbosity=0)
    django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-pass-1")
    ids = {
        "lora": Term.objects.get(slug="lora").pk,
        "chapter": Chapter.objects.get().pk,
        "quiz": Quiz.objects.get().pk,
    }
    folder = ARTIFACTS / "widths"
    folder.mkdir(exist_ok=True)
    page = log_in(browser, live_server.url, "boss", "boss-pass-1", width=width, height=768)
    problems = {}
    for name, url in WIDTH_PAGES.items():
        response = page.goto(live_server.url + url.format(**ids))
        assert response.status == 200, name
        page.screenshot(path=folder / f"{width}-{name}.png", full_page=True)
        found = page.evaluate(OVERFLOWING)
        if found["pageWidth"] > width or found["stickingOut"] or found["scrolling"]:
            problems[name] = found
    assert problems == {}


def test_editor_authors_a_quiz_on_one_page(browser, live_server, django_user_model):
    """Three questions with their choices on the quiz page: new questions come with two
    empty choices, true/false fills in True and False, a shape error shows on its
    question, dragging reorders, and the quiz is published from the same page."""
    from quizzes.models import Quiz
    from terms.models import Status

    call_command("loaddata", SEED_FIXTURE, verbosity=0)
    make_editor(django_user_model)
    base = live_server.url
    page = log_in(browser, base, "editor", "editor-pass-1", width=1366, height=768)
    page.goto(f"{base}/admin/quizzes/quiz/add/")
    page.locator("#id_title").press_sequentially("Alignment basics")
    add_question = page.locator("a:has-text('Add another Question')")
    for _ in range(3):
        add_question.click()
    texts = "input[name^='questions-{q}-choices-'][name$='-text']:not([name*='__prefix__'])"
    assert [page.locator(texts.format(q=q)).count() for q in range(3)] == [2, 2, 2]

    page.fill("#id_questions-0-prompt", "Which method learns from human preference rankings?")
    page.fill("#id_questions-0-choices-0-text", "RLHF")
    page.fill("#id_questions-0-choices-1-text", "Batch size")
    # No correct choice yet: publishing must point at this question.
    page.select_option("#id_questions-1-kind", "true_false")
    assert page.input_value("#id_questions-1-choices-0-text") == "True"
    assert page.input_value("#id_questions-1-choices-1-text") == "False"
    page.fill("#id_questions-1-prompt", "LoRA trains every weight of the model.")
    page.check("#id_questions-1-choices-1-is_correct")
    page.select_option("#id_questions-2-kind", "multiple")
    page.fill("#id_questions-2-prompt", "Which are parameter-efficient methods?")
    page.fill("#id_questions-2-choices-0-text", "LoRA")
    page.fill("#id_questions-2-choices-1-text", "Prefix Tuning")
    page.check("#id_questions-2-choices-0-is_correct")
    page.check("#id_questions-2-choices-1-is_correct")
    page.select_option("#id_status", "published")
    page.click("input[name=_continue]")
    page.wait_for_selector(".errornote")
    first = page.locator("#questions-0")
    assert "needs exactly one correct choice (it has 0)" in first.inner_text()
    page.screenshot(path=ARTIFACTS / "quiz-shape-error.png", full_page=True)
    assert not Quiz.objects.exists()

    page.check("#id_questions-0-choices-0-is_correct")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    quiz = Quiz.objects.get()
    assert quiz.status == Status.PUBLISHED
    prompts = list(quiz.questions.values_list("position", "prompt"))
    assert [position for position, _prompt in prompts] == [1, 2, 3]

    # The last question dragged to the top; positions follow the page.
    handle, top = page.locator("#questions-2 h3").first, page.locator("#questions-0 h3").first
    handle.drag_to(top, target_position={"x": 30, "y": 2})
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    page.screenshot(path=ARTIFACTS / "quiz-authored.png", full_page=True)
    reordered = list(quiz.questions.values_list("position", "prompt"))
    assert reordered == [
        (1, prompts[2][1]), (2, prompts[0][1]), (3, prompts[1][1]),
    ]  # fmt: skip
    assert [
        (question.kind, [(c.position, c.text, c.is_correct) for c in question.choices.all()])
        for question in quiz.questions.all()
    ] == [
        ("multiple", [(1, "LoRA", True), (2, "Prefix Tuning", True)]),
        ("single", [(1, "RLHF", True), (2, "Batch size", False)]),
        ("true_false", [(1, "True", False), (2, "False", True)]),
    ]
    quiz.refresh_from_db()
    assert quiz.status == Status.PUBLISHED


def test_editor_imports_the_seed_terms(browser, live_server, django_user_model, settings):
    """The seed's terms.tsv, through the admin: the preview lists 31 new terms, the
    confirmation creates them."""
    from terms.models import Chapter, Term

    chapter = Chapter.objects.create(
        title="Imported", slug="imported", status="published", published_at="2026-01-01T00:00Z"
    )
    make_editor(django_user_model)
    base = live_server.url
    page = log_in(browser, base, "editor", "editor-pass-1", width=1366, height=768)
    page.goto(f"{base}/admin/terms/term/")
    page.click("a.import-link")
    page.set_input_files("#id_file", settings.BASE_DIR / "fixtures" / "terms.tsv")
    page.select_option("#id_chapter", str(chapter.pk))
    page.click("input[type=submit]")
    page.wait_for_selector("#import-rows")
    assert page.locator("#import-rows tr.import-new").count() == 31
    assert "31 new, 0 changed, 0 unchanged" in page.inner_text("#import-summary")
    page.screenshot(path=ARTIFACTS / "import-preview.png", full_page=True)
    assert not Term.objects.exists()
    page.click("input[name=confirm]")
    page.wait_for_selector(".messagelist .success")
    assert "31 created, 0 updated, 0 unchanged" in page.inner_text(".messagelist")
    assert Term.objects.filter(chapter=chapter, status="draft").count() == 31
