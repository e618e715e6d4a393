"""Staff analytics over GraphQL, and who may read them."""

import pytest

from tests.quizzes.conftest import gid

ANALYTICS = """
query($quiz: ID!, $since: Date, $until: Date) {
  quizAnalytics(quiz: $quiz, since: $since, until: $until) {
    quiz { slug questionCount chapter { slug } }
    since until
    summary { attempts distinctClients medianPercentage passRate histogram { low attempts } }
    questions {
      position facility discrimination weak
      choices { text picks attractsStrongLearners }
    }
    reliability { kr20 attempts questions }
    mostMissedTerms { slug missRate }
  }
}
"""

TERM_MISS_RATE = '{ term(slug: "lora") { name missRate } }'
CHAPTER_MISSES = """
{ chapters { edges { node { slug mostMissedTerms(first: 1) { slug answers misses missRate } } } } }
"""


def test_staff_read_quiz_analytics(graded, staff_client, graphql):
    """A superuser gets the whole analysis of a quiz."""
    data = graphql(ANALYTICS, {"quiz": gid(graded)})["data"]["quizAnalytics"]
    assert data["quiz"] == {
        "slug": "quiz",
        "questionCount": 5,
        "chapter": {"slug": "fine-tuning-alignment-terms"},
    }
    assert (data["since"], data["until"]) == (None, None)
    assert data["summary"]["attempts"] == 5
    assert data["summary"]["distinctClients"] == 3
    assert data["summary"]["medianPercentage"] == pytest.approx(25.0)
    assert data["summary"]["passRate"] == pytest.approx(0.2)
    assert [b["attempts"] for b in data["summary"]["histogram"]] == [0, 0, 3, 0, 0, 1, 0, 1, 0, 0]
    assert [q["facility"] for q in data["questions"]] == [
        pytest.approx(0.6), pytest.approx(0.4), pytest.approx(0.6), 0.0, None,
    ]  # fmt: skip
    assert data["questions"][1]["choices"][1] == {
        "text": "Choice 2.2", "picks": 1, "attractsStrongLearners": True,
    }  # fmt: skip
    assert data["reliability"]["attempts"] == 5
    assert data["mostMissedTerms"] == [
        {"slug": "lora", "missRate": 0.5},
        {"slug": "peft", "missRate": 0.4},
    ]


def test_window_arguments(graded, staff_client, graphql):
    """since and until narrow the attempts; until before since is an error."""
    data = graphql(ANALYTICS, {"quiz": gid(graded), "since": "2026-11-02"})["data"]
    assert data["quizAnalytics"]["summary"]["attempts"] == 3
    assert data["quizAnalytics"]["since"] == "2026-11-02"
    result = graphql(
        ANALYTICS,
        {"quiz": gid(graded), "since": "2026-11-03", "until": "2026-11-01"},
        expect_errors=True,
    )
    assert result["errors"][0]["message"] == "until: must not be before since."
    bad_date = graphql(ANALYTICS, {"quiz": gid(graded), "since": "yesterday"}, expect_errors=True)
    assert "$since" in bad_date["errors"][0]["message"]


@pytest.mark.parametrize("quiz_id", ["nope", "UXVpejo5OTk=", "VGVybTox"])
def test_unknown_quiz_is_an_error(graded, staff_client, graphql, quiz_id):
    """Malformed, unknown or wrong-type IDs are a clear error."""
    result = graphql(ANALYTICS, {"quiz": quiz_id}, expect_errors=True)
    assert result["data"] is None
    assert result["errors"][0]["message"] == "quiz: no quiz has this ID."


def test_term_miss_rate_and_chapter_most_missed(graded, staff_client, graphql):
    """Term.missRate and Chapter.mostMissedTerms count every quiz over all time."""
    assert graphql(TERM_MISS_RATE)["data"] == {"term": {"name": "LoRA", "missRate": 0.5}}
    chapters = graphql(CHAPTER_MISSES)["data"]["chapters"]["edges"]
    assert chapters[0]["node"]["mostMissedTerms"] == [
        {"slug": "lora", "answers": 10, "misses": 5, "missRate": 0.5}
    ]


def login(client, role, editor, analyst, staff):
    user = {"editor": editor, "analyst": analyst, "staff": staff}.get(role)
    if user:
        client.force_login(user)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("anonymous", False), ("editor", False), ("analyst", True), ("staff", True)],
)
@pytest.mark.parametrize("document", ["analytics", "miss rate", "most missed"])
def test_permission_matrix(
    graded, client, graphql, editor, analyst, staff, role, allowed, document
):
    """Only analysts and superusers read analytics; others get a permission error, no data."""
    login(client, role, editor, analyst, staff)
    query, variables = {
        "analytics": (ANALYTICS, {"quiz": gid(graded)}),
        "miss rate": (TERM_MISS_RATE, None),
        "most missed": (CHAPTER_MISSES, None),
    }[document]
    result = graphql(query, variables, expect_errors=not allowed)
    if allowed:
        assert "errors" not in result
        return
    assert result["errors"][0]["message"] == "You don't have permission to access this app."
    assert "0.5" not in str(result.get("data"))
