"""A local test bed for the "TLS Certificate asynchronous Pipeline" example.

The pipeline checks, for each domain (ACME *authorization*) of an order, every
supported *challenge* concurrently and stops at the first that validates:

* **dns-01**: the TXT record ``_acme-challenge.<domain>`` must contain
  ``base64url(sha256(key_authorization))``;
* **http-01**: ``http://<domain>/.well-known/acme-challenge/<token>`` must
  answer 200 with the key authorization as its body.

This module provides the real servers for both checks, on ``127.0.0.1`` and
ephemeral ports, plus the challenge data computed by certbot's ``acme``
library (``acme.challenges.DNS01`` / ``HTTP01`` with a ``josepy`` account key):

* a DNS server (``dnslib``, UDP and TCP on the same port) answering TXT
  queries from a mutable table; query it with :meth:`AcmeTestbed.resolver`
  (a ``dnspython`` resolver pointed at it);
* an HTTP server answering ``/.well-known/acme-challenge/<token>`` per virtual
  host: connect to :attr:`AcmeTestbed.http_base` and send ``Host: <domain>``.

Example::

    with AcmeTestbed() as bed:
        authz = bed.add_domain("example.com", dns_ok=False, http_ok=True)
        dns_chall = authz.challenge(DNS01)
        answer = bed.resolver().resolve(dns_chall.dns_name, "TXT")
        http_chall = authz.challenge(HTTP01)
        requests.get(bed.http_base + http_chall.http_path,
                     headers={"Host": "example.com"})

Each domain is configured with ``dns_ok`` / ``http_ok``: ``True`` publishes the
right value, ``False`` a wrong one (the record or page exists but does not
match), ``None`` nothing (NXDOMAIN / 404).  ``dns_delay`` / ``http_delay``
(seconds) stall the answers, to exercise timeouts and cancellation.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import dns.asyncresolver
import dns.resolver
from acme import challenges
from cryptography.hazmat.primitives.asymmetric import ec
from dnslib import QTYPE, RCODE, RR, TXT, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer
from josepy.b64 import b64encode
from josepy.jwk import JWK, JWKEC

from ._threadserver import BackgroundServer, QuietHandler

__all__ = [
    "ALL_CHALLENGE_TYPES",
    "DNS01",
    "HTTP01",
    "SUPPORTED_CHALLENGE_TYPES",
    "TLSALPN01",
    "AcmeTestbed",
    "Authorization",
    "Challenge",
    "Order",
    "make_challenges",
    "new_account_key",
]

DNS01 = challenges.DNS01.typ  # "dns-01"
HTTP01 = challenges.HTTP01.typ  # "http-01"
TLSALPN01 = "tls-alpn-01"
"""Offered by real CAs; the ``acme`` package no longer models it (an
``UnrecognizedChallenge`` here) and the pipeline skips it."""

ALL_CHALLENGE_TYPES = (DNS01, HTTP01, TLSALPN01)
"""The challenges a CA offers per authorization, in this test bed."""

SUPPORTED_CHALLENGE_TYPES = (DNS01, HTTP01)
"""The challenge types the pipeline checks (``supportedChallengeTypes``)."""


def new_account_key() -> JWK:
    """A fresh ACME account key (EC P-256, as a ``josepy`` JWK)."""
    return JWKEC(key=ec.generate_private_key(ec.SECP256R1()))


# --------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    """One ACME challenge of one domain, with the values a check compares.

    Attributes:
        type: ``"dns-01"``, ``"http-01"`` or ``"tls-alpn-01"``.
        domain: the identifier being validated (``example.com``).
        token: the challenge token (base64url, as a CA sends it).
        key_authorization: ``token + "." + base64url(JWK thumbprint)``; the
            body an http-01 check expects (acmez's ``KeyAuthorization``).
        dns_name: TXT record name of a dns-01 challenge,
            ``_acme-challenge.<domain>`` (acmez's ``DNS01TXTRecordName()``;
            empty for other types).
        dns_value: TXT value a dns-01 check expects,
            ``base64url(sha256(key_authorization))`` (acmez's
            ``DNS01KeyAuthorization()``; empty for other types).
        http_path: ``/.well-known/acme-challenge/<token>`` for http-01
            (acmez's ``HTTP01ResourcePath()``; empty for other types).
        acme: the underlying ``acme.challenges`` object.
    """

    type: str
    domain: str
    token: str
    key_authorization: str
    dns_name: str = ""
    dns_value: str = ""
    http_path: str = ""
    acme: challenges.Challenge | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_acme(cls, chall: challenges.Challenge, domain: str, account_key: JWK) -> Challenge:
        """Compute every value of ``chall`` for ``domain`` with the ``acme`` library."""
        if isinstance(chall, challenges.KeyAuthorizationChallenge):
            typ = chall.typ
            token = chall.encode("token")
            key_auth = chall.key_authorization(account_key)
        elif isinstance(chall, challenges.UnrecognizedChallenge):  # e.g. tls-alpn-01
            typ, token = chall.jobj["type"], chall.jobj["token"]
            thumb = account_key.thumbprint(
                hash_function=challenges.KeyAuthorizationChallenge.thumbprint_hash_function
            )
            key_auth = f"{token}.{b64encode(thumb).decode()}"  # the same formula
        else:
            raise TypeError(f"not a token challenge: {chall!r}")
        kwargs: dict[str, str] = {}
        if isinstance(chall, challenges.DNS01):
            kwargs["dns_name"] = chall.validation_domain_name(domain)
            kwargs["dns_value"] = chall.validation(account_key)
        elif isinstance(chall, challenges.HTTP01):
            kwargs["http_path"] = chall.path
        return cls(typ, domain, token, key_auth, acme=chall, **kwargs)


def make_challenges(
    domain: str,
    account_key: JWK,
    types: Iterable[str] = ALL_CHALLENGE_TYPES,
) -> tuple[Challenge, ...]:
    """New challenges (random 32-byte tokens) of the given types for ``domain``."""
    out = []
    for typ in types:
        token = os.urandom(32)
        chall: challenges.Challenge
        if typ == DNS01:
            chall = challenges.DNS01(token=token)
        elif typ == HTTP01:
            chall = challenges.HTTP01(token=token)
        else:
            chall = challenges.Challenge.from_json(
                {"type": typ, "token": b64encode(token).decode()}
            )
        out.append(Challenge.from_acme(chall, domain, account_key))
    return tuple(out)


@dataclass
class Authorization:
    """The challenges of one domain, and whether the pipeline validated it.

    ``authorized`` and ``challenge_type`` are for the pipeline to set (the Go
    code's ``o.authorizations[i].authorized`` / ``.challengeType``).
    """

    domain: str
    challenges: tuple[Challenge, ...]
    authorized: bool = False
    challenge_type: str | None = None

    def challenge(self, typ: str) -> Challenge:
        """The challenge of type ``typ`` (KeyError if absent)."""
        for chall in self.challenges:
            if chall.type == typ:
                return chall
        raise KeyError(typ)


@dataclass
class Order:
    """A certificate order: one authorization per domain, and a retry count."""

    authorizations: list[Authorization]
    retries: int = 0


# --------------------------------------------------------------------------
# Mutable tables shared by the two servers
# --------------------------------------------------------------------------


def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


class _Tables:
    """TXT records, HTTP-01 resources and delays, guarded by one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.txt: dict[str, list[str]] = {}
        self.http: dict[tuple[str, str], str] = {}
        self.dns_delay: dict[str, float] = {}
        self.http_delay: dict[str, float] = {}
        #: How many answers are being held back by a delay right now.
        self.stalled = 0
        #: How many DNS requests are being answered (made and sent) right now.
        self.answering = 0
        self.stalled_changed = threading.Condition(self.lock)

    def stall(self, delay: float) -> bool:
        """Hold an answer back for ``delay`` s; True if a stop released it."""
        with self.lock:
            self.stalled += 1
            self.stalled_changed.notify_all()
        try:
            return self.stopping.wait(delay)
        finally:
            with self.lock:
                self.stalled -= 1
                self.stalled_changed.notify_all()

    @contextlib.contextmanager
    def answering_one(self) -> Iterator[None]:
        """Count one DNS answer in flight while the block runs."""
        with self.lock:
            self.answering += 1
        try:
            yield
        finally:
            with self.lock:
                self.answering -= 1
                self.stalled_changed.notify_all()

    def wait_answered(self, timeout: float) -> bool:
        """Wait until no DNS answer is in flight; False if ``timeout`` s passed first."""
        with self.lock:
            return self.stalled_changed.wait_for(lambda: self.answering == 0, timeout)

    def lookup_txt(self, name: str) -> tuple[list[str] | None, float]:
        with self.lock:
            values = self.txt.get(name)
            delay = self.dns_delay.get(name, 0.0)
        return (None if values is None else list(values)), delay

    def lookup_http(self, host: str, token: str) -> tuple[str | None, float]:
        with self.lock:
            return self.http.get((host, token)), self.http_delay.get(host, 0.0)


class _TxtResolver(BaseResolver):  # type: ignore[misc]  # dnslib is untyped
    """dnslib resolver answering TXT queries from :class:`_Tables`."""

    def __init__(self, tables: _Tables) -> None:
        self.tables = tables

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        qname = request.q.qname
        values, delay = self.tables.lookup_txt(_norm(str(qname)))
        if delay:
            self.tables.stall(delay)
        if values is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype in (QTYPE.TXT, QTYPE.ANY):
            for value in values:
                reply.add_answer(RR(qname, QTYPE.TXT, rdata=TXT(value), ttl=0))
        return reply


class _DNSHandler(DNSHandler):  # type: ignore[misc]  # dnslib is untyped
    """dnslib's handler, with its answer counted in flight.

    A stop waits for the count to reach zero before it closes the sockets, so
    an answer that the stop released still goes out (it would otherwise hit a
    closed socket, and its client would wait out its whole timeout).
    """

    def handle(self) -> None:
        with self.server.resolver.tables.answering_one():
            super().handle()


class _ChallengeHandler(QuietHandler):
    """Serve ``/.well-known/acme-challenge/<token>`` per ``Host`` header."""

    server_version = "acme-http01-local"
    tables: _Tables  # set on a per-testbed subclass
    prefix = "/" + challenges.HTTP01.URI_ROOT_PATH + "/"

    def do_GET(self) -> None:
        """Answer the key authorization, or 404."""
        self.discard_body()
        host = self.headers.get("Host", "").strip()
        if host.startswith("["):  # [v6]:port
            host = host[: host.find("]") + 1]
        else:
            host = _norm(host.partition(":")[0])
        path = self.path.partition("?")[0]
        body, delay = None, 0.0
        if path.startswith(self.prefix):
            body, delay = self.tables.lookup_http(host, path[len(self.prefix) :])
        if delay and self.tables.stall(delay):
            self.close_connection = True
            self.send_text(503, "server shutting down\n")
        elif body is None:
            self.send_text(404, "404 Not Found\n")
        else:
            self.send_text(200, body)

    do_HEAD = do_GET


# --------------------------------------------------------------------------
# The test bed
# --------------------------------------------------------------------------

_UNSET: Any = object()


class AcmeTestbed:
    """A DNS server and an HTTP-01 server on loopback, plus the challenge data.

    Args:
        account_key: the ACME account key; a new EC P-256 key by default.
        host: listen address of both servers (keep it on loopback).
    """

    def __init__(self, account_key: JWK | None = None, host: str = "127.0.0.1") -> None:
        self.account_key = account_key or new_account_key()
        self.host = host
        self.authorizations: dict[str, Authorization] = {}
        self._tables = _Tables()
        handler = type("_Handler", (_ChallengeHandler,), {"tables": self._tables})
        self._http = BackgroundServer(handler, host, 0, name="acme-http01")
        self._dns: list[DNSServer] = []
        self.dns_port = 0

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> AcmeTestbed:
        """Start the DNS (UDP+TCP) and HTTP servers."""
        if not self._dns:
            self._tables.stopping.clear()
            self._start_dns()
            self._http.start()
        return self

    def _start_dns(self, attempts: int = 20) -> None:
        resolver = _TxtResolver(self._tables)
        logger = DNSLogger(logf=lambda _msg: None)
        for _ in range(attempts):
            udp = DNSServer(resolver, address=self.host, port=0, logger=logger, handler=_DNSHandler)
            port = udp.server.server_address[1]
            try:
                tcp = DNSServer(
                    resolver,
                    address=self.host,
                    port=port,
                    tcp=True,
                    logger=logger,
                    handler=_DNSHandler,
                )
            except OSError:  # the TCP side of that port is taken: try another
                udp.server.server_close()
                continue
            for server in (udp, tcp):
                threading.Thread(
                    target=server.server.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name=f"acme-dns:{port}",
                    daemon=True,
                ).start()
            self._dns = [udp, tcp]
            self.dns_port = port
            return
        raise RuntimeError("could not bind a DNS port for both UDP and TCP")

    def stop(self) -> None:
        """Stop both servers; stalled answers are released at once."""
        self._tables.stopping.set()
        for server in self._dns:
            server.stop()  # no new requests from here on
        # Let the answers the stop released go out before the sockets close.
        self._tables.wait_answered(timeout=5.0)
        for server in self._dns:
            # One still being made after that wait would hit the closed socket: stay quiet.
            server.server.handle_error = lambda *_args: None
            server.server.server_close()
        self._dns = []
        self._http.stop()

    def __enter__(self) -> AcmeTestbed:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- clients -------------------------------------------------------------

    @property
    def http_base(self) -> str:
        """``http://127.0.0.1:PORT`` of the HTTP-01 server (send ``Host: <domain>``)."""
        return self._http.url

    @property
    def http_port(self) -> int:
        """Port of the HTTP-01 server."""
        return self._http.port

    def http_url(self, chall: Challenge) -> str:
        """Where to GET an http-01 challenge (with ``Host: chall.domain``)."""
        return self.http_base + chall.http_path

    def resolver(self, lifetime: float = 5.0) -> dns.resolver.Resolver:
        """A dnspython resolver that asks only the local DNS server."""
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = [self.host]
        res.port = self.dns_port
        res.lifetime = lifetime
        res.timeout = lifetime
        return res

    def async_resolver(self, lifetime: float = 5.0) -> dns.asyncresolver.Resolver:
        """Like :meth:`resolver`, for asyncio code."""
        res = dns.asyncresolver.Resolver(configure=False)
        res.nameservers = [self.host]
        res.port = self.dns_port
        res.lifetime = lifetime
        res.timeout = lifetime
        return res

    def wait_stalled(self, count: int, timeout: float) -> None:
        """Wait until ``count`` answers are held back by a delay (for tests)."""
        tables = self._tables
        with tables.stalled_changed:
            if not tables.stalled_changed.wait_for(lambda: tables.stalled >= count, timeout):
                raise TimeoutError(f"{tables.stalled} of {count} answers stalled after {timeout} s")

    # -- domains -------------------------------------------------------------

    def add_domain(
        self,
        domain: str,
        dns_ok: bool | None = True,
        http_ok: bool | None = True,
        dns_delay: float = 0.0,
        http_delay: float = 0.0,
        types: Iterable[str] = ALL_CHALLENGE_TYPES,
    ) -> Authorization:
        """Create an authorization (new tokens) for ``domain`` and publish it.

        ``dns_ok`` / ``http_ok``: ``True`` publishes the right value, ``False``
        a wrong one, ``None`` nothing.  Delays are in seconds.
        """
        domain = _norm(domain)
        if domain in self.authorizations:  # replaced: unpublish the old tokens
            self.configure(domain, dns_ok=None, http_ok=None)
        authz = Authorization(domain, make_challenges(domain, self.account_key, types))
        self.authorizations[domain] = authz
        self.configure(
            domain,
            dns_ok=dns_ok,
            http_ok=http_ok,
            dns_delay=dns_delay,
            http_delay=http_delay,
        )
        return authz

    def configure(
        self,
        domain: str,
        *,
        dns_ok: bool | None = _UNSET,
        http_ok: bool | None = _UNSET,
        dns_delay: float = _UNSET,
        http_delay: float = _UNSET,
    ) -> None:
        """Change what is published for an added domain (omitted: unchanged)."""
        authz = self.authorizations[_norm(domain)]
        with self._tables.lock:
            for chall in authz.challenges:
                if chall.type == DNS01:
                    if dns_ok is not _UNSET:
                        self._publish_txt(chall, dns_ok)
                    if dns_delay is not _UNSET:
                        self._tables.dns_delay[chall.dns_name] = float(dns_delay)
                elif chall.type == HTTP01:
                    if http_ok is not _UNSET:
                        self._publish_http(chall, http_ok)
                    if http_delay is not _UNSET:
                        self._tables.http_delay[chall.domain] = float(http_delay)

    def _publish_txt(self, chall: Challenge, ok: bool | None) -> None:
        if ok is None:
            self._tables.txt.pop(chall.dns_name, None)
        else:
            wrong = b64encode(hashlib.sha256(b"wrong" + os.urandom(8)).digest())
            self._tables.txt[chall.dns_name] = [chall.dns_value if ok else wrong.decode()]

    def _publish_http(self, chall: Challenge, ok: bool | None) -> None:
        key = (chall.domain, chall.token)
        if ok is None:
            self._tables.http.pop(key, None)
        else:
            self._tables.http[key] = (
                chall.key_authorization if ok else f"{chall.token}.wrong-thumbprint"
            )

    def publish_txt(self, name: str, *values: str) -> None:
        """Set the TXT values of any name (no values: the name stops existing)."""
        with self._tables.lock:
            if values:
                self._tables.txt[_norm(name)] = list(values)
            else:
                self._tables.txt.pop(_norm(name), None)

    def publish_http(self, domain: str, token: str, body: str | None) -> None:
        """Serve ``body`` at the challenge path of ``token`` on ``domain`` (None: 404)."""
        key = (_norm(domain), token)
        with self._tables.lock:
            if body is None:
                self._tables.http.pop(key, None)
            else:
                self._tables.http[key] = body
