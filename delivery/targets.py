"""Where the worker may send requests: the one SSRF rule for webhook targets, and a
connection to the very address the rule accepted."""

import http.client
import ipaddress
import socket
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address wraps (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if address.version == 6 and (carried := _carried_ipv4(address)) is not None:
        return _refused(carried)
    return not address.is_global or address.is_multicast


def target_address(url: str) -> tuple[str | None, str | None]:
    """(the address to send to, None), or (None, why the worker must not send to `url`).

    An http(s) URL whose host resolves only to public addresses: loopback, private,
    link-local (cloud metadata), reserved and multicast addresses are refused unless
    WEBHOOK_ALLOW_PRIVATE_TARGETS is on (then the address is None: connect by name).
    Checked when an endpoint is saved and again before each request, whose connection
    goes to the address returned (`opener`): resolving the name again could give
    another answer (DNS rebinding).
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None, "Only http:// and https:// URLs with a host can receive webhooks."
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return None, None
    default_port = 443 if parts.scheme == "https" else 80
    try:
        infos = socket.getaddrinfo(
            parts.hostname, parts.port or default_port, type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError, ValueError):
        return None, f"The host {parts.hostname} cannot be resolved."
    addresses = [info[4][0].split("%")[0] for info in infos]
    for address in addresses:
        if _refused(ipaddress.ip_address(address)):
            return None, (
                f"{parts.hostname} resolves to {address}, a private or loopback address; "
                "webhooks go to public addresses only (WEBHOOK_ALLOW_PRIVATE_TARGETS)."
            )
    if not addresses:
        return None, f"The host {parts.hostname} cannot be resolved."
    return addresses[0], None


def target_problem(url: str) -> str | None:
    """Why the worker must not send to `url` (see `target_address`); None when it may."""
    return target_address(url)[1]


class _PinnedConnection(http.client.HTTPConnection):
    """Connects to `pinned_address` instead of resolving the host; the Host header, and
    for HTTPS the SNI name and the certificate check, stay the URL's host."""

    def __init__(self, *args, pinned_address: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.pinned_address = pinned_address

    def connect(self):
        self.sock = socket.create_connection(
            (self.pinned_address, self.port), self.timeout, self.source_address
        )
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection, _PinnedConnection):
    """HTTPSConnection.connect wraps the socket of `_PinnedConnection.connect` (next in
    the method order) with server_hostname=self.host."""

    def __init__(self, *args, pinned_address: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.pinned_address = pinned_address


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, address: str):
        super().__init__()
        self.address = address

    def http_open(self, req):
        return self.do_open(_PinnedConnection, req, pinned_address=self.address)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, address: str):
        super().__init__()
        self.address = address

    def https_open(self, req):
        return self.do_open(
            _PinnedHTTPSConnection, req, context=self._context, pinned_address=self.address
        )


def opener(address: str | None, *handlers) -> urllib.request.OpenerDirector:
    """A urllib opener with `handlers` that connects to `address` (from
    `target_address`), through no proxy (a proxy would resolve the name itself); to the
    host by name when `address` is None (private targets allowed)."""
    if address is None:
        return urllib.request.build_opener(*handlers)
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _PinnedHTTPHandler(address),
        _PinnedHTTPSHandler(address),
        *handlers,
    )
