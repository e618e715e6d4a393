"""Preview tokens: a frontend shows one unpublished object; bad tokens are coded 401s."""

import datetime
import time

import pytest
from django.contrib.auth.models import Group
from django.core import signing
from django.core.management import CommandError, call_command
from django.utils import timezone

from glossary_backend.preview import SALT, preview_token_mint, preview_tokens_revoke
from quizzes.models import Quiz
from terms.models import Status, Term

TERM = 'query { term(slug: "zeta-term") { slug name } }'
QUIZ = """
query {
  quiz(slug: "scheduled-quiz") { slug questions { position choices { text } } }
  quizzes { totalCount }
}
"""


def post(client, query, token=None):
    headers = {} if token is None else {"HTTP_X_PREVIEW_TOKEN": token}
    return client.post("/graphql", {"query": query}, content_type="application/json", **headers)


@pytest.fixture
def draft_term(seed, make_term):
    return make_term(seed, "Zeta Term", status=Status.DRAFT)


def test_a_term_token_shows_that_draft_term(client, draft_term, editor):
    token = preview_token_mint(obj=draft_term, user=editor)
    assert post(client, TERM).json() == {"data": {"term": None}, "extensions": {"cost": 3}}
    response = post(client, TERM, token)
    assert response.status_code == 200
    assert response.json()["data"] == {"term": {"slug": "zeta-term", "name": "Zeta Term"}}
    assert response["Cache-Control"] == "private, no-store"
    varies = [name.strip().lower() for name in response["Vary"].split(",")]
    assert varies.count("x-preview-token") == 1


def test_a_scheduled_quiz_is_hidden_and_its_token_shows_it(client, make_quiz, editor):
    quiz = make_quiz(
        [("single", [True, False])],
        slug="scheduled-quiz",
        go_live_at=timezone.now() + datetime.timedelta(days=1),
    )
    anonymous = post(client, QUIZ).json()["data"]
    assert anonymous == {"quiz": None, "quizzes": {"totalCount": 0}}
    token = preview_token_mint(obj=quiz, user=editor)
    previewed = post(client, QUIZ, token).json()["data"]
    # Choices are served by their random public ids: compare them as a set.
    for question in previewed["quiz"]["questions"]:
        question["choices"].sort(key=lambda choice: choice["text"])
    assert previewed == {
        "quiz": {
            "slug": "scheduled-quiz",
            "questions": [
                {"position": 1, "choices": [{"text": "Choice 1.1"}, {"text": "Choice 1.2"}]}
            ],
        },
        "quizzes": {"totalCount": 1},
    }


def test_a_staff_session_with_a_token_is_answered_as_the_preview(
    client, draft_term, make_term, seed, editor
):
    """Everything but the previewed object is as for an anonymous caller."""
    make_term(seed, "Zeta Other", status=Status.DRAFT)
    client.force_login(editor)
    token = preview_token_mint(obj=draft_term, user=editor)
    query = 'query { a: term(slug: "zeta-term") { slug } b: term(slug: "zeta-other") { slug } }'
    assert post(client, query, token).json()["data"] == {"a": {"slug": "zeta-term"}, "b": None}


def forged(draft_term, editor):
    payload = signing.loads(preview_token_mint(obj=draft_term, user=editor), salt=SALT)
    return signing.dumps({**payload, "pk": payload["pk"] + 1}, salt=SALT, key="another-key")


def wrong_purpose(draft_term, editor):
    return signing.dumps({"type": "term", "pk": draft_term.pk, "user": editor.pk}, salt="other")


def expired(draft_term, editor, monkeypatch):
    real = time.time()
    monkeypatch.setattr(time, "time", lambda: real - 3600)
    token = preview_token_mint(obj=draft_term, user=editor, minutes=30)
    monkeypatch.undo()
    return token


def revoked(draft_term, editor):
    token = preview_token_mint(obj=draft_term, user=editor)
    preview_tokens_revoke(user=editor)
    return token


def minter_left_editors(draft_term, editor):
    token = preview_token_mint(obj=draft_term, user=editor)
    editor.groups.remove(Group.objects.get(name="Editors"))
    return token


def minter_deactivated(draft_term, editor):
    token = preview_token_mint(obj=draft_term, user=editor)
    editor.is_active = False
    editor.save()
    return token


def object_deleted(draft_term, editor):
    token = preview_token_mint(obj=draft_term, user=editor)
    draft_term.delete()
    return token


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda *_: "not-a-token", "PREVIEW_TOKEN_INVALID"),
        (lambda *_: "", "PREVIEW_TOKEN_INVALID"),
        (lambda t, e, _m: forged(t, e), "PREVIEW_TOKEN_INVALID"),
        (lambda t, e, _m: wrong_purpose(t, e), "PREVIEW_TOKEN_INVALID"),
        (lambda t, e, m: expired(t, e, m), "PREVIEW_TOKEN_EXPIRED"),
        (lambda t, e, _m: revoked(t, e), "PREVIEW_TOKEN_INVALID"),
        (lambda t, e, _m: minter_left_editors(t, e), "PREVIEW_TOKEN_INVALID"),
        (lambda t, e, _m: minter_deactivated(t, e), "PREVIEW_TOKEN_INVALID"),
        (lambda t, e, _m: object_deleted(t, e), "PREVIEW_TOKEN_INVALID"),
    ],
    ids=[
        "garbage", "empty", "forged", "signed for another purpose", "expired", "revoked",
        "minter lost the permission", "minter deactivated", "object deleted",
    ],
)  # fmt: skip
def test_each_bad_token_is_a_coded_401(client, draft_term, editor, monkeypatch, make_token, code):
    token = make_token(draft_term, editor, monkeypatch)
    response = post(client, TERM, token)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "private, no-store"
    message = {
        "PREVIEW_TOKEN_INVALID": "The preview token is not valid.",
        "PREVIEW_TOKEN_EXPIRED": "The preview token has expired.",
    }[code]
    assert response.json() == {"errors": [{"message": message, "extensions": {"code": code}}]}


def test_the_command_prints_a_working_token(client, draft_term, editor, capsys):
    call_command("preview_token", "term", "zeta-term", "--minutes", "5", "--user", "editor")
    token = capsys.readouterr().out.strip()
    assert post(client, TERM, token).json()["data"] == {
        "term": {"slug": "zeta-term", "name": "Zeta Term"}
    }
    assert signing.loads(token, salt=SALT)["expires"] <= time.time() + 5 * 60


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["term", "zeta-term", "--minutes", "1441", "--user", "editor"], "1 to 1440 minutes"),
        (["term", "zeta-term", "--minutes", "0", "--user", "editor"], "1 to 1440 minutes"),
        (["term", "no-such-term", "--user", "editor"], "No term with slug 'no-such-term'."),
        (["term", "zeta-term", "--user", "nobody"], "No active staff member 'nobody'."),
        (["quiz", "zeta-term", "--user", "editor"], "No quiz with slug 'zeta-term'."),
    ],
)
def test_the_command_refuses_bad_requests(draft_term, editor, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("preview_token", *arguments)


def test_the_command_refuses_a_user_who_may_not_change_it(draft_term, analyst):
    with pytest.raises(CommandError, match="may not change terms"):
        call_command("preview_token", "term", "zeta-term", "--user", "analyst")


def test_unpreviewed_requests_are_unchanged(client, draft_term):
    """No header: an ordinary anonymous answer, public over GET."""
    response = client.get("/graphql", {"query": TERM})
    assert response["Cache-Control"].startswith("public, ")
    assert Term.objects.filter(slug="zeta-term").exists()
    assert not Quiz.objects.exists()
