"""Who is calling: the one answer that rate limits and login throttling share."""

from django.conf import settings


def client_address(request) -> str:
    """The caller's address; behind TRUSTED_PROXY_COUNT proxies, the one the outermost
    of them saw (the proxies append to X-Forwarded-For, so the client cannot forge it).

    django-axes asks this too (AXES_CLIENT_IP_CALLABLE): counting login failures against
    the proxy's address would let anyone lock every editor out.
    """
    if request is None:
        return ""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            return forwarded[-hops][:64]
    return request.META.get("REMOTE_ADDR", "")[:64]
