"""Where the worker may send requests: the one SSRF rule for webhook targets."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


def target_problem(url: str) -> str | None:
    """Why the worker must not send to `url`; None when it may.

    An http(s) URL whose host resolves only to public addresses: loopback, private,
    link-local (cloud metadata), reserved and multicast addresses are refused unless
    WEBHOOK_ALLOW_PRIVATE_TARGETS is on. Checked when an endpoint is saved and again
    before each request (a name can be pointed elsewhere later).
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "Only http:// and https:// URLs with a host can receive webhooks."
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return f"The host {parts.hostname} cannot be resolved."
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global or address.is_multicast:
            return (
                f"{parts.hostname} resolves to {address}, a private or loopback address; "
                "webhooks go to public addresses only (WEBHOOK_ALLOW_PRIVATE_TARGETS)."
            )
    return None
