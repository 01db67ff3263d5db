"""Sending one HTTP request to an endpoint, safely.

The SSRF guard: the URL's host is resolved and every address it resolves to must be a public one (not private,
loopback, link-local, multicast, reserved, unspecified, shared, cloud metadata; IPv4-mapped IPv6 addresses are
judged by their IPv4 address), and the scheme must be https. The request then connects to the address that was
checked (never resolving the name again: a DNS rebinding cannot swap it), sends the name for TLS (SNI, certificate
check) and the Host header, and never follows a redirect. ``TESSERA_WEBHOOKS_ALLOW_PRIVATE`` (local and test
settings) allows http and addresses on this machine.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

# Cloud metadata services; they are link-local or private already, listed so the message names them.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("169.254.170.2"),
    ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("fd00:ec2::254"),
}
READ_LIMIT = 1024
USER_AGENT = "Tessera-Webhooks/1.0 (+https://www.standardwebhooks.com/)"


class UnsafeURL(ValueError):
    """The URL cannot be used as an endpoint; the message says why, for the person who entered it."""


class DeliveryError(Exception):
    """No HTTP answer came back (connection refused, TLS failure, timeout)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: str | None
    excerpt: str
    latency_ms: int


def address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why a webhook must not be sent to ``address`` (None: a public address)."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return address_problem(mapped)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for attribute, label in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "an unspecified address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private network address"),
    ):
        if getattr(address, attribute):
            return label
    if not address.is_global:
        return "an address that is not on the public internet"
    return None


def resolve(url: str, *, allow_private: bool | None = None) -> Target:
    """Check ``url`` and resolve its host; raises ``UnsafeURL`` with a message a person can act on."""
    if allow_private is None:
        allow_private = settings.TESSERA_WEBHOOKS_ALLOW_PRIVATE
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"This is not a valid URL ({exc}).") from exc
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed_schemes:
        raise UnsafeURL("Use an https:// URL: webhooks are only sent over HTTPS.")
    host = parts.hostname or ""
    if not host:
        raise UnsafeURL("The URL has no host name.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("Leave user names and passwords out of the URL; check the webhook signature instead.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeURL(f"The host {host} could not be found; check the URL.") from exc
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in found:
        text = str(sockaddr[0]).split("%", 1)[0]
        address = ipaddress.ip_address(text)
        problem = address_problem(address)
        if problem and not allow_private:
            mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
            shown = f"{address} (IPv4 {mapped})" if mapped else str(address)
            raise UnsafeURL(
                f"The host {host} resolves to {shown}, {problem}. Webhooks are only sent to public internet addresses."
            )
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise UnsafeURL(f"The host {host} could not be found; check the URL.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=parts.scheme, host=host, port=port, path=path, addresses=tuple(addresses))


def _connect(target: Target, deadline: float) -> socket.socket:
    last_error: OSError | None = None
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            sock = socket.create_connection((address, target.port), timeout=remaining)
        except OSError as exc:
            last_error = exc
            continue
        if target.scheme == "https":
            context = ssl.create_default_context()
            try:
                return context.wrap_socket(sock, server_hostname=target.host)
            except (OSError, ssl.SSLError):
                sock.close()
                raise
        return sock
    raise DeliveryError(f"could not connect: {last_error or 'timed out'}")


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body`` to the checked address of ``target`` within ``timeout`` seconds in all (a receiver that
    trickles its answer is cut off). Reads at most 1 KB of the answer. Redirects are answers, not followed."""
    started = time.monotonic()
    deadline = started + timeout
    try:
        sock = _connect(target, deadline)
    except (OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"could not connect: {exc}") from exc
    # The whole exchange, not each read, is bounded: at the deadline the socket is shut down under the reader.
    watchdog = threading.Timer(max(deadline - time.monotonic(), 0.0), _shutdown, args=(sock,))
    watchdog.daemon = True
    watchdog.start()
    connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    connection.sock = sock
    try:
        connection.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", target.host_header)
        connection.putheader("User-Agent", USER_AGENT)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body)))
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        excerpt = response.read(READ_LIMIT)
        answer = Answer(
            status=response.status,
            retry_after=response.getheader("Retry-After"),
            excerpt=excerpt.decode("utf-8", "replace").replace("\x00", ""),
            latency_ms=int((time.monotonic() - started) * 1000),
        )
    except (OSError, http.client.HTTPException) as exc:
        if time.monotonic() >= deadline - 0.01:
            raise DeliveryError(f"timed out after {timeout:g} s") from exc
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        watchdog.cancel()
        connection.close()
    return answer


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return
