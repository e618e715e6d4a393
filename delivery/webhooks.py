"""Webhook requests per Standard Webhooks (standardwebhooks.com): payload, signature, send.

Each event is one message whose `webhook-id` is the event's id ("evt_42"): retries and
replays carry the same id, so a receiver de-duplicates by it. The signature is
`v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")), one per active secret
(two during a rotation), separated by spaces.
"""

import base64
import datetime
import hashlib
import hmac
import json
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from delivery import targets
from delivery.models import SECRET_PREFIX, WebhookEndpoint, event_type
from terms.models import ChangeEvent

TIMEOUT_SECONDS = 10
# Retries: exponential from 30 s, capped at an hour between attempts, up to a day in all.
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600


def message_id(event: ChangeEvent) -> str:
    return f"evt_{event.pk}"


def payload(event: ChangeEvent) -> dict:
    """What receivers get: the event and the object's typename, global id and slug, from
    the event row alone (nothing of the content itself, published or not)."""
    return {
        "type": event_type(event.typename, event.kind),
        "timestamp": event.created_at.isoformat(),
        "data": {
            "kind": event.kind.upper(),
            "typename": event.typename,
            "id": global_id(event.typename, event.object_id),
            "slug": event.slug,
            "surrogateKeys": event.surrogate_keys,
        },
    }


def global_id(typename: str, pk: int) -> str:
    """The object's Relay global ID, as the GraphQL API writes it (base64 of "Term:15")."""
    return base64.b64encode(f"{typename}:{pk}".encode()).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def active_secrets(endpoint: WebhookEndpoint) -> list[str]:
    secrets = [endpoint.secret]
    if endpoint.previous_secret and (
        endpoint.previous_secret_until is None or endpoint.previous_secret_until > timezone.now()
    ):
        secrets.append(endpoint.previous_secret)
    return secrets


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is the receiver's answer, not a new target


@dataclass
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int


def send(endpoint: WebhookEndpoint, event: ChangeEvent) -> Outcome:
    """POST the event to the endpoint, signed; what happened (never raises)."""
    address, problem = targets.target_address(endpoint.url)
    if problem:
        return Outcome(None, problem[:300], 0)
    body = json.dumps(payload(event), separators=(",", ":"))
    msg_id = message_id(event)
    timestamp = int(time.time())
    request = urllib.request.Request(
        endpoint.url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "glossary-backend-webhooks",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(
                signature(secret, msg_id, timestamp, body) for secret in active_secrets(endpoint)
            ),
        },
    )
    started = time.monotonic()
    try:
        opener = targets.opener(address, _NoRedirects)
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            status, error = response.status, ""
    except urllib.error.HTTPError as failure:
        status, error = failure.code, ""
    except (OSError, ValueError) as failure:
        status, error = None, str(failure)[:300] or type(failure).__name__
    return Outcome(status, error, int((time.monotonic() - started) * 1000))


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failures: exponential, capped,
    with full jitter (receivers coming back are not hit by every sender at once)."""
    ceiling = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** (attempts - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def give_up_after() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
