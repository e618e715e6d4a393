"""Admin logins are throttled after repeated failures (django-axes)."""

from django.urls import reverse

LOGIN = reverse("admin:login")


def attempt(client, password):
    return client.post(LOGIN, {"username": "editor", "password": password, "next": "/admin/"})


def test_five_failures_lock_the_account_from_that_address(client, editor):
    """After five wrong passwords even the right one is refused, with 429."""
    for _ in range(4):
        assert attempt(client, "wrong").status_code == 200  # the form again
    assert attempt(client, "wrong").status_code == 429
    assert attempt(client, "editor-password").status_code == 429


def test_a_success_resets_the_count(client, editor):
    """Failures below the limit are forgotten after a successful login."""
    for _ in range(4):
        attempt(client, "wrong")
    assert attempt(client, "editor-password").status_code == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, "wrong").status_code == 200
