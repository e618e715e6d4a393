"""The admin's quiz analytics dashboard and the demo data behind it."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from analytics.models import QuizDay
from quizzes.models import AttemptAnswer, AttemptAnswerChoice, QuizAttempt
from quizzes.services import attempts_delete


def dashboard_url(quiz):
    return reverse("admin:quizzes_quiz_analytics", args=[quiz.pk])


def bar_values(content: bytes, section: str) -> list[float]:
    html = content.decode()
    part = html[html.index(f'id="{section}"') :]
    part = part[: part.index("</svg>")]
    return [float(value) for value in re.findall(r'data-value="([^"]+)"', part)]


def bar_labels(content: bytes, section: str) -> list[str]:
    html = content.decode()
    part = html[html.index(f'id="{section}"') :]
    return re.findall(r'data-label="([^"]+)"', part[: part.index("</svg>")])


def test_dashboard_draws_the_numbers(graded, analyst_client):
    """Charts carry the histogram, facility and daily counts; weak questions are marked."""
    response = analyst_client.get(dashboard_url(graded))
    assert response.status_code == 200
    content = response.content
    # Raw scores 0..5 (five questions now): three attempts scored 1, one 2, one 3.
    assert bar_values(content, "score-distribution") == [0, 3, 1, 1, 0, 0]
    assert bar_labels(content, "score-distribution") == ["0", "1", "2", "3", "4", "5"]
    assert bar_values(content, "facility") == [0.6, 0.4, 0.6, 0, 0]
    assert bar_values(content, "attempts-per-day") == [2, 3]
    assert content.count(b'class="bar weak"') == 1  # Q4: facility 0
    assert b'<strong id="kpi-attempts">5</strong>' in content
    lora = reverse("admin:terms_term_change", args=[response.context["most_missed"][0].term_id])
    assert f'href="{lora}">LoRA</a>'.encode() in content
    assert b"/exports/attempts.csv?quiz=quiz" in content


def test_dashboard_window(graded, analyst_client):
    """since/until narrow the dashboard, the histogram included; the inputs are date
    pickers."""
    narrowed = analyst_client.get(dashboard_url(graded), {"since": "2026-11-02"})
    assert narrowed.context["summary"].attempts == 3
    assert bar_values(narrowed.content, "score-distribution") == [0, 3, 0, 0, 0, 0]
    assert b'<input type="date" name="since" value="2026-11-02"' in narrowed.content
    assert b'<input type="date" name="until"' in narrowed.content


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"since": "soon"}, b"since: Must be a day written YYYY-MM-DD."),
        ({"since": "2026-11-03", "until": "2026-11-01"}, b"until: Must not be before since."),
        ({"until": "2026-02-30"}, b"until: "),
    ],
)
def test_an_invalid_window_shows_its_error_and_no_numbers(graded, analyst_client, window, message):
    """A window that cannot be read is the error alone: no numbers of another window."""
    response = analyst_client.get(dashboard_url(graded), window)
    assert response.status_code == 200
    assert message in response.content
    assert b'class="errornote"' in response.content
    assert "summary" not in response.context
    numbers = (b"kpi-attempts", b'class="chart"', b"item-analysis", b"empty-window", b"/exports/")
    for absent in numbers:
        assert absent not in response.content
    assert b"Correct the window to see its numbers." in response.content


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (
            {"since": "2026-12-01", "until": "2026-12-31"},
            b"No attempts from 2026-12-01 to 2026-12-31.",
        ),
        ({"since": "2026-12-01"}, b"No attempts since 2026-12-01."),
        ({"until": "2026-10-31"}, b"No attempts until 2026-10-31."),
    ],
)
def test_an_empty_window_says_so(graded, analyst_client, window, message):
    """A window without attempts says so instead of drawing zeros and dashes."""
    response = analyst_client.get(dashboard_url(graded), window)
    assert response.status_code == 200
    assert response.context["summary"].attempts == 0
    assert message in response.content
    assert b"kpi-attempts" not in response.content
    assert b'class="chart"' not in response.content


@pytest.mark.parametrize(("role", "status"), [("anonymous", 302), ("editor", 403), ("staff", 200)])
def test_dashboard_permissions(graded, client, editor, staff, role, status):
    """Anonymous visitors are sent to log in, editors refused, superusers let in."""
    if role != "anonymous":
        client.force_login({"editor": editor, "staff": staff}[role])
    assert client.get(dashboard_url(graded)).status_code == status


def test_quiz_page_links_to_the_dashboard(graded, analyst_client, editor):
    """The quiz list and change page link to the dashboard for those who may see it."""
    url = dashboard_url(graded).encode()
    assert url in analyst_client.get(reverse("admin:quizzes_quiz_changelist")).content
    assert url in analyst_client.get(reverse("admin:quizzes_quiz_change", args=[graded.pk])).content
    editor_client = Client()
    editor_client.force_login(editor)
    assert url not in editor_client.get(reverse("admin:quizzes_quiz_changelist")).content


def test_term_list_shows_miss_rates_to_analysts(graded, analyst_client):
    """The term admin shows each term's miss rate to those with the analytics permission."""
    response = analyst_client.get(reverse("admin:terms_term_changelist"), {"q": "lora"})
    rates = {term.name: term.miss_rate for term in response.context["cl"].result_list}
    assert rates == {"LoRA": 0.5, "QLoRA": None}
    assert b"50%" in response.content


def test_seed_attempts_is_deterministic(seed_quiz):
    """The same seed gives the same attempts; every attempt is whole."""
    call_command("seed_attempts", quiz=seed_quiz.slug, count=300, seed=5)
    first = list(QuizAttempt.objects.order_by("pk").values_list("client_id", "score", "duration"))
    assert len(first) == 300
    assert AttemptAnswer.objects.count() == 300 * 14
    picked = AttemptAnswerChoice.objects.count()
    call_command("rollups", "verify", stdout=StringIO())
    assert attempts_delete(queryset=QuizAttempt.objects.all()) == 300
    assert not AttemptAnswer.objects.exists()
    assert not QuizDay.objects.exists()
    call_command("seed_attempts", quiz=seed_quiz.slug, count=300, seed=5)
    again = list(QuizAttempt.objects.order_by("pk").values_list("client_id", "score", "duration"))
    assert again == first
    assert AttemptAnswerChoice.objects.count() == picked
    call_command("rollups", "verify", stdout=StringIO())


def test_seeded_attempts_spread_out(seed_quiz):
    """Learners of varying skill: scores spread, questions differ, reliability is positive."""
    from analytics.statistics import quiz_analytics

    call_command("seed_attempts", quiz=seed_quiz.slug, count=2000, seed=1)
    analytics = quiz_analytics(quiz=seed_quiz)
    assert analytics.summary.attempts == 2000
    assert analytics.summary.stddev_percentage > 10
    facilities = [q.facility for q in analytics.questions]
    assert max(facilities) - min(facilities) > 0.3
    assert analytics.reliability.kr20 > 0.5
    assert all(stored.score == sum(a.is_correct for a in stored.answers.all())
               for stored in QuizAttempt.objects.prefetch_related("answers")[:50])  # fmt: skip


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"quiz": "nope"}, "No quiz with slug 'nope'."),
        ({"count": 0}, "Generate at least one attempt."),
    ],
)
def test_seed_attempts_refuses_bad_arguments(seed_quiz, options, message):
    """Unknown quizzes and empty counts are refused."""
    with pytest.raises(CommandError, match=message):
        call_command("seed_attempts", **{"quiz": seed_quiz.slug, "seed": 1, **options})


def test_seed_attempts_refuses_a_used_seed(seed_quiz):
    """Seeding twice with one seed would duplicate learners: refused."""
    call_command("seed_attempts", quiz=seed_quiz.slug, count=10, seed=3)
    with pytest.raises(CommandError, match="seed 3 already exist"):
        call_command("seed_attempts", quiz=seed_quiz.slug, count=10, seed=3)
    assert QuizAttempt.objects.count() == 10


def answer_all_right(quiz, key):
    """Start an attempt at `quiz` and answer every question it drew correctly."""
    from quizzes.services import AnswerInput, attempt_start, attempt_submit

    started = attempt_start(quiz_id=quiz.pk)
    answers = [
        AnswerInput(question.pk, [choice.pk for choice in choices if choice.is_correct])
        for question, choices in started.questions
    ]
    return attempt_submit(
        quiz_id=quiz.pk, answers=answers, idempotency_key=key, attempt_token=started.token
    )


def test_histogram_runs_to_the_questions_an_attempt_draws(
    make_quiz, make_chapter, make_term, analyst_client
):
    """A quiz that draws questions per attempt scores 0..the number drawn, not 0..its
    question count: by draw_count, and by draw rules."""
    from quizzes.models import DrawRule

    by_count = make_quiz([("single", [True, False])] * 5, slug="by-count", draw_count=2)
    assert answer_all_right(by_count, "a").max_score == 2
    page = analyst_client.get(dashboard_url(by_count))
    assert bar_labels(page.content, "score-distribution") == ["0", "1", "2"]
    assert bar_values(page.content, "score-distribution") == [0, 0, 1]

    chapter = make_chapter("basics")
    lora, rag = make_term(chapter, "LoRA"), make_term(chapter, "RAG")
    by_rules = make_quiz([("single", [True, False])] * 6, slug="by-rules")
    for question, term in zip(
        by_rules.questions.all(), [lora, lora, lora, rag, rag, None], strict=True
    ):
        question.term = term
        question.save()
    DrawRule.objects.create(quiz=by_rules, position=1, count=2, term=lora)
    DrawRule.objects.create(quiz=by_rules, position=2, count=1, chapter=chapter)
    assert answer_all_right(by_rules, "b").max_score == 3
    page = analyst_client.get(dashboard_url(by_rules))
    assert bar_labels(page.content, "score-distribution") == ["0", "1", "2", "3"]
