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


def attempt_from(client, address, password):
    return client.post(
        LOGIN,
        {"username": "editor", "password": password, "next": "/admin/"},
        REMOTE_ADDR="10.0.0.1",  # the proxy, the same for everyone
        HTTP_X_FORWARDED_FOR=address,
    )


def test_behind_a_proxy_failures_count_per_client(client, editor, settings):
    """With TRUSTED_PROXY_COUNT=1, one client's failures lock that client out, not the
    editor logging in from elsewhere through the same proxy."""
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        attempt_from(client, "203.0.113.7", "wrong")
    assert attempt_from(client, "203.0.113.7", "editor-password").status_code == 429
    assert attempt_from(client, "198.51.100.2", "editor-password").status_code == 302


def test_behind_a_proxy_a_forged_address_does_not_escape_the_lock(client, editor, settings):
    """A client cannot pick its address: the proxy appends the one it saw, and that counts."""
    settings.TRUSTED_PROXY_COUNT = 1
    for forged in ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"]:
        attempt_from(client, f"{forged}, 203.0.113.7", "wrong")
    response = attempt_from(client, "6.6.6.6, 203.0.113.7", "editor-password")
    assert response.status_code == 429
