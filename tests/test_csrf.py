"""CSRF posture: the API needs no token because browsers cannot forge its requests.

The endpoint reads only application/json POSTs (a content type that cross-site pages
can only send after a CORS preflight) and GET queries (never mutations), and CORS never
allows credentials. So neither way a browser could carry a staff cookie cross-site
works: a form post is refused, and a scripted JSON post is stopped by its preflight.
"""

import json
from urllib.parse import urlencode

import pytest
from django.test import override_settings

from quizzes.models import QuizAttempt
from tests.quizzes.conftest import gid

MUTATION = (
    'mutation { submitQuizAttempt(input: {quiz: "%s", answers: [], idempotencyKey: "k"}) '
    "{ __typename } }"
)


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=b", "text/plain"],
)
def test_cross_site_form_posts_are_refused_even_with_a_staff_cookie(
    seed_quiz, staff_client, content_type
):
    """What an HTML form on another site can send is not read at all."""
    mutation = MUTATION % gid(seed_quiz)
    if content_type.startswith("multipart"):
        body = f'--b\r\nContent-Disposition: form-data; name="query"\r\n\r\n{mutation}\r\n--b--\r\n'
    elif content_type == "text/plain":
        body = json.dumps({"query": mutation})
    else:
        body = urlencode({"query": mutation})
    response = staff_client.generic("POST", "/graphql", body, content_type=content_type)
    assert response.status_code == 400
    assert not QuizAttempt.objects.exists()


@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"])
@pytest.mark.parametrize(
    ("origin", "allowed"),
    [("https://app.example.com", True), ("https://evil.example.net", False)],
)
def test_json_posts_need_a_preflight_that_never_allows_credentials(client, origin, allowed):
    """A page's fetch() with JSON needs a preflight: other origins fail it, and listed
    origins pass it without credentials, so cookies never ride along."""
    response = client.options(
        "/graphql",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert (response.headers.get("access-control-allow-origin") == origin) is allowed
    assert "access-control-allow-credentials" not in response.headers


def test_the_admin_still_checks_csrf_tokens(client, editor):
    """Cookie-authenticated admin forms keep Django's CSRF protection."""
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(editor)
    response = strict.post("/admin/terms/chapter/add/", {"title": "X", "slug": "x"})
    assert response.status_code == 403
