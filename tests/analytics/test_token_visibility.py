"""An API token's caller sees published content only, on every analytics path: a draft
quiz's analytics and exports answer a token as a missing quiz would; staff sessions (the
superuser's and an analyst's) read drafts as before."""

import pytest
from strawberry.relay import to_base64

from analytics.models import ApiToken
from analytics.tokens import api_token_create
from quizzes.models import Quiz
from terms.models import Status, Term
from tests.analytics.test_exports import NOT_A_CHOICE, bad_input, parse_csv, parse_jsonl, read
from tests.quizzes.conftest import gid

ANALYTICS = """
query($q: ID!) {
  quizAnalytics(quiz: $q) {
    quiz { id slug }
    summary { attempts }
    questions { position prompt choices { text isCorrect } }
    mostMissedTerms { slug }
  }
}
"""
CHAPTER_MISSES = '{ chapter(slug: "fine-tuning-alignment-terms") { mostMissedTerms { slug } } }'
CALLERS = ["token", "staff session", "analyst session"]
DATASETS = ["attempts", "answers", "questions", "choices"]


def headers_for(caller, client, staff, analyst) -> dict:
    """Logs `client` in as `caller`, or returns a token's Authorization header."""
    if caller == "token":
        token = api_token_create(
            user=analyst, name="report", scopes=[ApiToken.Scope.ANALYTICS_READ]
        )[1]
        return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    client.force_login(staff if caller == "staff session" else analyst)
    return {}


def post_graphql(client, query, variables=None, **headers):
    body = {"query": query, "variables": variables or {}}
    return client.post("/graphql", body, content_type="application/json", **headers)


def make_draft(quiz):
    """`quiz` taken back to a draft: its attempts and roll-ups stay."""
    Quiz.objects.filter(pk=quiz.pk).update(status=Status.DRAFT)


def rows(response, fmt) -> list[dict]:
    return (parse_csv if fmt == "csv" else parse_jsonl)(read(response))


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("state", ["published", "draft"])
def test_quiz_analytics_of_a_draft_are_not_found_for_a_token(
    graded, client, staff, analyst, caller, state
):
    """A token reads a published quiz's analytics in full; a draft's answer it exactly as
    an unknown quiz's (a coded BAD_USER_INPUT on `quiz`, no data, never a 500). Sessions
    read both."""
    if state == "draft":
        make_draft(graded)
    headers = headers_for(caller, client, staff, analyst)
    response = post_graphql(client, ANALYTICS, {"q": gid(graded)}, **headers)
    assert response.status_code == 200
    if caller == "token" and state == "draft":
        missing = post_graphql(client, ANALYTICS, {"q": to_base64("Quiz", 999999)}, **headers)
        body = response.json()
        assert body == missing.json()
        assert set(body.pop("extensions")) == {"cost"}
        assert body == {
            "data": None,
            "errors": [
                {
                    "message": "quiz: no quiz has this ID.",
                    "locations": [{"line": 3, "column": 3}],
                    "path": ["quizAnalytics"],
                    "extensions": {"code": "BAD_USER_INPUT", "argument": "quiz"},
                }
            ],
        }
        return
    data = response.json()["data"]["quizAnalytics"]
    assert "errors" not in response.json()
    assert data["quiz"] == {"id": gid(graded), "slug": "quiz"}
    assert data["summary"] == {"attempts": 5}
    assert [q["position"] for q in data["questions"]] == [1, 2, 3, 4, 5]
    assert data["questions"][0]["choices"][0] == {"text": "Choice 1.1", "isCorrect": True}
    assert {term["slug"] for term in data["mostMissedTerms"]} == {"lora", "peft"}


@pytest.mark.parametrize("caller", CALLERS)
def test_most_missed_terms_leave_out_drafts_for_a_token(graded, client, staff, analyst, caller):
    """A draft term is missing from a token's most missed terms, of the quiz and of its
    chapter; staff sessions still see it."""
    Term.objects.filter(slug="peft").update(status=Status.DRAFT)
    headers = headers_for(caller, client, staff, analyst)
    expected = {"lora"} if caller == "token" else {"lora", "peft"}
    quiz = post_graphql(client, ANALYTICS, {"q": gid(graded)}, **headers).json()["data"]
    assert {term["slug"] for term in quiz["quizAnalytics"]["mostMissedTerms"]} == expected
    chapter = post_graphql(client, CHAPTER_MISSES, **headers).json()["data"]
    assert {term["slug"] for term in chapter["chapter"]["mostMissedTerms"]} == expected


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("state", ["published", "draft"])
@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_exports_of_a_draft_quiz_are_not_found_for_a_token(
    graded, client, staff, analyst, caller, state, dataset, fmt
):
    """?quiz=<a draft's slug> answers a token as an unknown slug does (400 on `quiz`), in
    every dataset and format; ?chapter= and no filter leave the draft's rows out. Sessions,
    and tokens on published quizzes, get the rows."""
    if state == "draft":
        make_draft(graded)
    headers = headers_for(caller, client, staff, analyst)
    path = f"/exports/{dataset}.{fmt}"
    hidden = caller == "token" and state == "draft"
    by_quiz = client.get(path, {"quiz": "quiz"}, **headers)
    if hidden:
        assert by_quiz.status_code == 400
        assert by_quiz.json() == bad_input({"quiz": [NOT_A_CHOICE]})
        assert client.get(path, {"quiz": "no-such-quiz"}, **headers).json() == by_quiz.json()
    else:
        assert by_quiz.status_code == 200
        assert {row["quiz"] for row in rows(by_quiz, fmt)} == {"quiz"}
    for params in [{}, {"chapter": "fine-tuning-alignment-terms"}]:
        response = client.get(path, params, **headers)
        assert response.status_code == 200
        found = rows(response, fmt)
        assert (found == []) is hidden
        assert {row["quiz"] for row in found} == (set() if hidden else {"quiz"})
