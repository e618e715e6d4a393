"""Admin logins are throttled after repeated failures (django-axes)."""

import datetime
import re

from django.urls import reverse
from django.utils import timezone

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


def test_the_lockout_page_says_when_to_retry(client, editor):
    """The locked-out page names the wait and the time to try again, with Retry-After."""
    for _ in range(5):
        before = timezone.now()
        response = attempt(client, "wrong")
        after = timezone.now()
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    text = " ".join(response.content.decode().split())
    assert "5 logins in a row failed" in text
    assert "Try again in 15 minutes, after" in text
    wait = datetime.timedelta(minutes=15)
    assert any(f"{moment + wait:%H:%M} UTC" in text for moment in (before, after))
    assert reverse("admin_password_reset") in text


def test_staff_reset_their_password_by_email(client, editor, mailoutbox, django_user_model):
    """The login page links the reset; the email's link sets a new password that logs in.
    Nobody but active staff gets an email, and the page does not tell who has an account."""
    django_user_model.objects.create_user("reader", "reader@example.com", "reader-password")
    assert reverse("admin_password_reset") in client.get(LOGIN).content.decode()
    for address in ["reader@example.com", "nobody@example.com", "editor@example.com"]:
        response = client.post(reverse("admin_password_reset"), {"email": address})
        assert response.status_code == 302
        assert response["Location"] == reverse("password_reset_done")
    assert [message.to for message in mailoutbox] == [["editor@example.com"]]
    link = re.search(r"https?://[^/\s]+(/admin/reset/\S+/)", mailoutbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url, {"new_password1": "a-New-pass-42", "new_password2": "a-New-pass-42"}
    )
    assert done["Location"] == reverse("password_reset_complete")
    assert client.get(done["Location"]).status_code == 200
    assert attempt(client, "editor-password").status_code == 200  # the old one is gone
    assert (
        client.post(
            LOGIN, {"username": "editor", "password": "a-New-pass-42", "next": "/admin/"}
        ).status_code
        == 302
    )
