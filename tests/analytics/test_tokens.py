"""Analysts' personal API tokens: hashed, scoped, expiring, revocable; for the API and the
exports only."""

import datetime
import io
import re

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analytics.models import ApiToken
from analytics.tokens import TOKEN_PATTERN, api_token_create, token_digest
from terms.models import Status
from tests.analytics.conftest import drop_scopes, expire
from tests.quizzes.conftest import gid

ANALYTICS = """
query($quiz: ID!) { quizAnalytics(quiz: $quiz) { summary { attempts } } }
"""
DRAFT_TERM = '{ term(slug: "zeta-term") { slug } }'
READ = [ApiToken.Scope.ANALYTICS_READ]


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post_graphql(client, query, variables=None, **headers):
    body = {"query": query, **({"variables": variables} if variables else {})}
    return client.post("/graphql", body, content_type="application/json", **headers)


@pytest.fixture
def analyst_token(analyst):
    return api_token_create(user=analyst, name="nightly report", scopes=READ)


def test_a_token_is_shown_once_and_stored_hashed(analyst, analyst_token):
    """The token is 256 random bits; the database keeps its prefix and a keyed hash, and no
    table anywhere holds the token itself."""
    api_token, token = analyst_token
    assert TOKEN_PATTERN.match(token)
    assert api_token.prefix == token[:12]
    assert api_token.digest == token_digest(token) != token
    assert len(api_token.digest) == 64
    stored = ApiToken.objects.values().get(pk=api_token.pk)
    assert not any(token in str(value) or token[12:] in str(value) for value in stored.values())
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert token[12:] not in dump.getvalue()
    other = api_token_create(user=analyst, name="other", scopes=READ)[1]
    assert other != token


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["analytics:write"]}, "scopes"),
        ({"expires_at": timezone.now() - datetime.timedelta(minutes=1)}, "expires_at"),
        ({"expires_at": timezone.now() + datetime.timedelta(days=400)}, "expires_at"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_tokens_are_not_created(analyst, fields, field):
    """No scope, an unknown scope, an expiry in the past or beyond a year: refused, nothing
    saved."""
    arguments = {"user": analyst, "name": "report", "scopes": READ, **fields}
    with pytest.raises(ValidationError) as error:
        api_token_create(**arguments)
    assert field in error.value.message_dict
    assert not ApiToken.objects.exists()


def test_a_token_reads_the_exports(graded, client, analyst_token):
    """Bearer on /exports/* streams the export, privately, without a session."""
    api_token, token = analyst_token
    response = client.get("/exports/attempts.csv", {"quiz": "quiz"}, **bearer(token))
    assert response.status_code == 200
    assert len(b"".join(response.streaming_content).splitlines()) == 6  # header + 5 attempts
    assert response["Cache-Control"] == "private, no-store"
    assert "Authorization" in response["Vary"]
    assert not response.cookies
    api_token.refresh_from_db()
    assert api_token.last_used_at is not None


def test_a_token_reads_the_staff_analytics_field(
    graded, client, analyst_token, django_assert_num_queries
):
    """Bearer on /graphql answers quizAnalytics: one lookup of the token, the owner's
    permissions (2), last_used_at (1), then what the field costs with a session."""
    _api_token, token = analyst_token
    with django_assert_num_queries(14):
        response = post_graphql(client, ANALYTICS, {"quiz": gid(graded)}, **bearer(token))
    assert response.status_code == 200
    assert response.json()["data"] == {"quizAnalytics": {"summary": {"attempts": 5}}}
    assert response["Cache-Control"] == "private, no-store"
    assert not response.cookies
    # Used again within the minute: last_used_at is not written again.
    with django_assert_num_queries(13):
        post_graphql(client, ANALYTICS, {"quiz": gid(graded)}, **bearer(token))


def test_without_a_token_the_field_stays_closed(graded, client):
    """Anonymous callers still get the permission error, not a 401."""
    response = post_graphql(client, ANALYTICS, {"quiz": gid(graded)})
    assert response.status_code == 200
    assert response.json()["data"] is None
    message = response.json()["errors"][0]["message"]
    assert message == "You don't have permission to access this app."


def test_a_token_is_never_staff(seed, make_term, client, staff):
    """A superuser's token reads analytics, not drafts: it is not a staff session."""
    make_term(seed, "Zeta Term", status=Status.DRAFT)
    _api_token, token = api_token_create(user=staff, name="superuser script", scopes=READ)
    response = post_graphql(client, DRAFT_TERM, **bearer(token))
    assert response.status_code == 200
    assert response.json()["data"] == {"term": None}
    client.force_login(staff)
    assert post_graphql(client, DRAFT_TERM).json()["data"] == {"term": {"slug": "zeta-term"}}
    # With both, the token decides: the session does not widen it.
    assert post_graphql(client, DRAFT_TERM, **bearer(token)).json()["data"] == {"term": None}


@pytest.mark.parametrize("path", ["/admin/", "/admin/analytics/apitoken/", "/admin/quizzes/quiz/"])
def test_a_token_never_opens_the_admin(analyst_token, client, path):
    """The admin ignores Authorization: it asks for a login, and logs nobody in."""
    _api_token, token = analyst_token
    response = client.get(path, **bearer(token))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert "sessionid" not in response.cookies


def tamper(token: str) -> str:
    last = "A" if token[-1] != "A" else "B"
    return token[:-1] + last


REFUSALS = {
    "basic scheme": (lambda token: f"Basic {token}", "API_TOKEN_INVALID", "invalid_request"),
    "empty bearer": (lambda token: "Bearer ", "API_TOKEN_INVALID", "invalid_request"),
    "garbage": (lambda token: "Bearer not-a-token", "API_TOKEN_INVALID", "invalid_token"),
    "tampered": (lambda token: f"Bearer {tamper(token)}", "API_TOKEN_INVALID", "invalid_token"),
    "unknown": (
        lambda token: f"Bearer glb_{'x' * 43}",
        "API_TOKEN_INVALID",
        "invalid_token",
    ),
}


@pytest.mark.parametrize("path", ["/graphql", "/exports/attempts.csv", "/exports/glossary.csv"])
@pytest.mark.parametrize("case", REFUSALS)
def test_bad_tokens_are_refused_with_401(seed, analyst_token, client, path, case):
    """Anything but a valid Bearer token is a 401 with a coded JSON error and a challenge."""
    _api_token, token = analyst_token
    header, code, error = REFUSALS[case]
    response = client.get(path, HTTP_AUTHORIZATION=header(token))
    assert_refused(response, code, error)


def assert_refused(response, code: str, error: str):
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["errors"][0]["extensions"] == {"code": code}
    assert body["errors"][0]["message"]
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="glossary", scope="analytics:read"')
    assert f'error="{error}"' in challenge
    assert response["Cache-Control"] == "private, no-store"
    assert not response.cookies


def revoke(api_token):
    ApiToken.objects.filter(pk=api_token.pk).update(revoked_at=timezone.now())


def leave_analysts(api_token):
    api_token.user.groups.remove(Group.objects.get(name="Analysts"))


def deactivate(api_token):
    api_token.user.is_active = False
    api_token.user.save()


@pytest.mark.parametrize(
    ("change", "code", "error"),
    [
        (expire, "API_TOKEN_EXPIRED", "invalid_token"),
        (revoke, "API_TOKEN_REVOKED", "invalid_token"),
        (drop_scopes, "API_TOKEN_INSUFFICIENT_SCOPE", "insufficient_scope"),
        (leave_analysts, "API_TOKEN_INSUFFICIENT_SCOPE", "insufficient_scope"),
        (deactivate, "API_TOKEN_INVALID", "invalid_token"),
    ],
)
@pytest.mark.parametrize("path", ["/graphql", "/exports/attempts.csv"])
def test_a_token_stops_working(graded, analyst_token, client, change, code, error, path):
    """Expired, revoked, without the scope, or its owner without the permission or
    deactivated: refused with 401 from then on, and not marked used."""
    api_token, token = analyst_token
    change(api_token)
    ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=None)
    if path == "/graphql":
        response = post_graphql(client, ANALYTICS, {"quiz": gid(graded)}, **bearer(token))
    else:
        response = client.get(path, {"quiz": "quiz"}, **bearer(token))
    assert_refused(response, code, error)
    api_token.refresh_from_db()
    assert api_token.last_used_at is None


# The admin: analysts create, see and revoke their own tokens.


def created_token(response) -> str:
    match = re.search(rb'id="api-token" type="text" readonly size="60" value="([^"]+)"',
                      response.content)  # fmt: skip
    assert match, response.content
    return match.group(1).decode()


def test_an_analyst_creates_a_token_in_the_admin_and_sees_it_once(graded, analyst_client, analyst):
    """The add page creates a token of the analyst's own, shows it once, and never again."""
    add = reverse("admin:analytics_apitoken_add")
    form = analyst_client.get(add)
    assert form.status_code == 200
    assert b'value="analytics:read"' in form.content
    expires = timezone.now() + datetime.timedelta(days=30)
    response = analyst_client.post(
        add,
        {
            "name": "BI tool",
            "scopes": ["analytics:read"],
            "expires_at_0": expires.strftime("%Y-%m-%d"),
            "expires_at_1": "12:00:00",
        },
    )
    assert response.status_code == 200
    assert {"private", "no-store"} <= set(response["Cache-Control"].split(", "))
    token = created_token(response)
    api_token = ApiToken.objects.get()
    assert (api_token.user, api_token.name, api_token.scopes) == (analyst, "BI tool", READ)
    assert api_token.digest == token_digest(token)
    listing = analyst_client.get(reverse("admin:analytics_apitoken_changelist"))
    assert api_token.prefix.encode() in listing.content
    assert token[12:].encode() not in listing.content
    page = analyst_client.get(reverse("admin:analytics_apitoken_change", args=[api_token.pk]))
    assert page.status_code == 200
    assert token[12:].encode() not in page.content
    # And the token works.
    client = Client()
    response = post_graphql(client, ANALYTICS, {"quiz": gid(graded)}, **bearer(token))
    assert response.json()["data"] == {"quizAnalytics": {"summary": {"attempts": 5}}}


def test_the_add_form_refuses_a_past_expiry(analyst_client):
    """A bad form is shown again with its error, and nothing is created."""
    response = analyst_client.post(
        reverse("admin:analytics_apitoken_add"),
        {
            "name": "late",
            "scopes": ["analytics:read"],
            "expires_at_0": "2020-01-01",
            "expires_at_1": "00:00:00",
        },
    )
    assert response.status_code == 200
    assert b"Choose a time in the future." in response.content
    assert not ApiToken.objects.exists()


def test_analysts_see_and_revoke_only_their_own_tokens(analyst_client, analyst, staff, graded):
    """Someone else's token is neither listed nor revocable; one's own is, and stops
    working."""
    own, own_token = api_token_create(user=analyst, name="mine", scopes=READ)
    theirs, _ = api_token_create(user=staff, name="theirs", scopes=READ)
    changelist = reverse("admin:analytics_apitoken_changelist")
    listed = analyst_client.get(changelist).context_data["cl"].result_list
    assert list(listed) == [own]
    assert '<td class="field-scopes_shown">analytics:read</td>' in (
        analyst_client.get(changelist).content.decode()
    )
    other_page = reverse("admin:analytics_apitoken_change", args=[theirs.pk])
    assert analyst_client.get(other_page).status_code == 302  # "does not exist"
    revoked = analyst_client.post(
        changelist,
        {"action": "revoke_tokens", "_selected_action": [own.pk, theirs.pk], "index": 0},
        follow=True,
    )
    assert "1 API token revoked." in [str(m) for m in revoked.context["messages"]]
    own.refresh_from_db()
    theirs.refresh_from_db()
    assert own.revoked_at is not None
    assert theirs.revoked_at is None
    response = Client().get("/exports/attempts.csv", **bearer(own_token))
    assert_refused(response, "API_TOKEN_REVOKED", "invalid_token")


@pytest.mark.parametrize("role", ["editor", "staff_without_analytics"])
def test_only_analysts_may_create_tokens(client, editor, django_user_model, role):
    """Without the analytics permission the token pages are closed."""
    user = (
        editor
        if role == "editor"
        else django_user_model.objects.create_user("plain", password="x", is_staff=True)
    )
    client.force_login(user)
    assert client.get(reverse("admin:analytics_apitoken_add")).status_code == 403
    assert client.get(reverse("admin:analytics_apitoken_changelist")).status_code == 403
    response = client.post(
        reverse("admin:analytics_apitoken_add"),
        {"name": "x", "scopes": READ, "expires_at_0": "2030-01-01", "expires_at_1": "0:00"},
    )
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/exports/glossary.csv", {}),
        ("/graphql", {"query": "{ chapters { totalCount } }"}),
    ],
)
def test_answers_to_a_token_are_never_shared(seed, analyst_token, client, path, query):
    """Public reads asked with a token are answered as usual, but privately: no shared
    cache stores an answer to a request with Authorization."""
    _api_token, token = analyst_token
    response = client.get(path, query, **bearer(token))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert "Authorization" in response["Vary"]
    assert not response.cookies
