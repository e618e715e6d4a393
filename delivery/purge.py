"""CDN purges by surrogate key, through the purger CDN_PURGER names.

A purger takes the keys of changed objects and lists (terms.models surrogate keys:
"term:15", "chapter:1", "terms") and makes the CDN drop the responses tagged with
them; it raises PurgeFailed when the CDN refused, and the relay retries. Other
invalidations (a local response cache) register with `purge_listener_register`.
"""

import json
import urllib.request
from collections.abc import Callable, Iterable

from django.conf import settings
from django.utils.module_loading import import_string

TIMEOUT_SECONDS = 10


class PurgeFailed(Exception):
    pass


def send(request: urllib.request.Request) -> int:
    """Send `request`; its status code. Tests replace it to see the requests."""
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError as error:
        raise PurgeFailed(f"{request.full_url}: {error}") from None


def _post(url: str, body: dict, headers: dict) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    status = send(request)
    if not 200 <= status < 300:
        raise PurgeFailed(f"{url} answered {status}")


def _batches(keys: list[str], size: int):
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


class NoPurger:
    """CDN_PURGER=none: no CDN in front, nothing to purge."""

    def purge(self, keys: list[str]) -> None:
        pass


class HttpPurger:
    """CDN_PURGER=http: POST CDN_PURGE_URL with the keys in a `Surrogate-Key` header and
    a JSON body {"surrogate_keys": [...]} (Varnish xkey, a proxy, your own endpoint)."""

    def purge(self, keys: list[str]) -> None:
        headers = {"Surrogate-Key": " ".join(keys)}
        if settings.CDN_PURGE_TOKEN:
            headers["Authorization"] = f"Bearer {settings.CDN_PURGE_TOKEN}"
        _post(settings.CDN_PURGE_URL, {"surrogate_keys": keys}, headers)


class FastlyPurger:
    """CDN_PURGER=fastly: Fastly's purge by surrogate keys, 256 keys per request."""

    def purge(self, keys: list[str]) -> None:
        url = f"https://api.fastly.com/service/{settings.FASTLY_SERVICE_ID}/purge"
        for batch in _batches(keys, 256):
            _post(url, {"surrogate_keys": batch}, {"Fastly-Key": settings.FASTLY_API_TOKEN})


class CloudflarePurger:
    """CDN_PURGER=cloudflare: Cloudflare's purge by cache tags, 30 tags per request."""

    def purge(self, keys: list[str]) -> None:
        url = (
            f"https://api.cloudflare.com/client/v4/zones/{settings.CLOUDFLARE_ZONE_ID}/purge_cache"
        )
        for batch in _batches(keys, 30):
            token = settings.CLOUDFLARE_API_TOKEN
            _post(url, {"tags": batch}, {"Authorization": f"Bearer {token}"})


PURGERS = {
    "none": NoPurger,
    "http": HttpPurger,
    "fastly": FastlyPurger,
    "cloudflare": CloudflarePurger,
}
_listeners: list[Callable[[list[str]], None]] = []


def purge_listener_register(listener: Callable[[list[str]], None]) -> None:
    """Also call `listener(keys)` on every purge (a local response cache's invalidation)."""
    if listener not in _listeners:
        _listeners.append(listener)


def purger():
    """The configured purger: a name of PURGERS or the dotted path of a class."""
    name = settings.CDN_PURGER
    return (PURGERS[name] if name in PURGERS else import_string(name))()


def keys_purge(keys: Iterable[str]) -> list[str]:
    """Purge `keys` (deduplicated, sorted) from the CDN and the registered caches;
    raises PurgeFailed. Returns the keys purged."""
    keys = sorted(set(keys))
    if keys:
        purger().purge(keys)
        for listener in _listeners:
            listener(keys)
    return keys
