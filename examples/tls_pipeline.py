"""TLS Certificate asynchronous Pipeline: the article's pre-flight check stage.

A certificate *order* has one *authorization* per domain, and each
authorization offers several *challenges* (dns-01, http-01, tls-alpn-01); the
customer needs to satisfy only one, so the stage checks them all:

* ``consumer_checks`` takes orders from the ``orders_check`` queue (a Chan)
  and checks the order's authorizations concurrently (a WaitGroup);
* ``process_authorization`` checks an authorization's supported challenges
  concurrently; the first that passes is sent on ``authorized`` (a Chan(1))
  and cancels the others (``context.with_cancel``; each checker selects on
  ``ctx.done()`` so none is left blocked), or ``after(check_timeout)`` gives
  up; either way it cancels and waits for every checker (a WaitGroup);
* an order with an unvalidated domain is re-queued after an exponential
  backoff, at most ``MAX_RETRIES`` times, then sent to a dead-letter queue
  (the article's older revision had ``TODO: send order to a dead letter
  queue``); a complete order goes on to ``orders_validate``.

The checks are real: ``check_dns`` asks a DNS server for the TXT record
``_acme-challenge.<domain>`` with dnspython, ``check_http`` GETs
``/.well-known/acme-challenge/<token>`` with urllib3, and both are cancelled
by the context (the socket is shut down by ``context.after_func``). The
servers (dnslib DNS, HTTP-01) and the challenge values (certbot's ``acme``
package) come from ``examples/services/acme_local.py`` on 127.0.0.1.

The demo submits four orders: two validate at once (one domain by DNS, one
by HTTP, one where DNS stalls so HTTP wins and the DNS check is cancelled),
one whose customer publishes the HTTP challenge late (validated on a retry),
and one that never validates (dead-lettered). The log (slog-style key=value
lines) goes to stderr; which method validated each domain goes to stdout.

Times: the article's checkTimeout is 5 s and its backoff starts at 5 minutes
(doubling up to 120). The demo shortens them: ``--check-timeout`` (default
0.5 s) and ``--backoff-minute`` (how long a backoff "minute" lasts, default
0.005 s); ``--real-time`` restores 5 s and 60 s. Run:
``python examples/tls_pipeline.py [--max-retries N] [--real-time]``.
"""

from __future__ import annotations

import argparse
import io
import socket
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
from _common import SCALE, println
from _http import URLError, get
from gocurrent import Chan, Mutex, WaitGroup, after, context, go, select

from examples.services import acme_local
from examples.services.acme_local import DNS01, HTTP01, AcmeTestbed, Authorization, Challenge

# backoffMax is the maximum number to backoff by (i.e. 2 hours in minutes).
BACKOFF_MAX = 120
# backoffMultiplier is the multiplier used for exponential backoff.
BACKOFF_MULTIPLIER = 2
# checkTimeout short-circuits an authorization check if it stalls (seconds).
CHECK_TIMEOUT = 5.0
# maxRetries is the maximum number of times a message can be re-queued.
MAX_RETRIES = 10

# supportedChallengeTypes filters unsupported challenge types (tls-alpn-01).
SUPPORTED_CHALLENGE_TYPES = (DNS01, HTTP01)


@dataclass
class Order(acme_local.Order):
    """A certificate order (authorizations, retries) with a name for the logs."""

    id: str = ""


@dataclass
class Config:
    """The stage's settings and the network it checks against."""

    check_timeout: float = CHECK_TIMEOUT
    backoff_minute: float = 60.0  # seconds per backoff "minute"
    max_retries: int = MAX_RETRIES
    dns_server: tuple[str, int] = ("127.0.0.1", 53)
    # Where http://DOMAIN/... and https://DOMAIN/... are served: the local
    # test bed has an HTTP-01 server and no https one.
    http_endpoints: dict[str, str] | None = None


# --------------------------------------------------------------------------
# slog-like logging: key=value lines on stderr
# --------------------------------------------------------------------------


class Logger:
    """A tiny ``log/slog`` text logger: ``with_(**attrs)``, ``info``, ``warn``."""

    _mu = Mutex()

    def __init__(self, attrs: tuple[tuple[str, Any], ...] = (), out: Any = None) -> None:
        self.attrs = attrs
        self.out = out

    def with_(self, **attrs: Any) -> Logger:
        return Logger(self.attrs + tuple(attrs.items()), self.out)

    def group(self, name: str, **attrs: Any) -> Logger:
        return self.with_(**{f"{name}.{k}": v for k, v in attrs.items()})

    def log(self, level: str, msg: str, **attrs: Any) -> None:
        stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        fields = [("time", stamp), ("level", level), ("msg", msg), *self.attrs, *attrs.items()]
        line = " ".join(f"{k}={_fmt(v)}" for k, v in fields) + "\n"
        with Logger._mu:
            (self.out or sys.stderr).write(line)

    def info(self, msg: str, **attrs: Any) -> None:
        self.log("INFO", msg, **attrs)

    def warn(self, msg: str, **attrs: Any) -> None:
        self.log("WARN", msg, **attrs)

    def error(self, msg: str, **attrs: Any) -> None:
        self.log("ERROR", msg, **attrs)


def _fmt(v: Any) -> str:
    s = str(v).lower() if isinstance(v, bool) else str(v)
    return f'"{s}"' if (not s or any(c in s for c in ' ="')) else s


# --------------------------------------------------------------------------
# The stage (the article's consumerChecks, processAuthorization, checks)
# --------------------------------------------------------------------------


class Pipeline:
    """The queues and the state of the pre-flight check stage."""

    def __init__(self, config: Config, log: Logger | None = None) -> None:
        self.config = config
        self.log = log or Logger()
        self.orders_check: Chan[Order] = Chan()
        self.orders_validate: Chan[Order] = Chan(100)
        self.dead_letter: Chan[Order] = Chan(100)
        # backoff is the duration to backoff by (in minutes); a variable so it
        # can grow exponentially (shared by every order, as in the article).
        self.backoff = 5.0

    def consumer_checks(self) -> None:
        """Take orders from the queue and run the pre-flight checks."""
        log = self.log
        ctx = context.background()

        for o in self.orders_check:
            sl = log.with_(order=o.id).group(
                "retries", current=o.retries, max=self.config.max_retries
            )
            sl.info("consumer_check", state="start")

            if o.retries > self.config.max_retries:
                sl.warn("consumer_check", state="dead")
                self.dead_letter.send(o)
                continue

            # One authorization per SAN entry (per domain), several challenges
            # per authorization: the authorizations are processed concurrently,
            # and so are each authorization's challenges.
            wg = WaitGroup()

            for i, a in enumerate(o.authorizations):
                # A re-queued order does not re-validate the authorizations
                # that were already validated.
                if not a.authorized:
                    # wg.go: wg.Add(1); go func() { defer wg.Done(); ... }()
                    wg.go(self.process_authorization, ctx, log, i, o)

            wg.wait()

            # If any authorization failed, re-queue the order.
            failed = [a.domain for a in o.authorizations if not a.authorized]
            if failed:
                sl.warn(
                    "consumer_check",
                    err="not all authorizations were successful",
                    retry=True,
                    backoff=self.backoff,
                    failed=",".join(failed),
                    state="re-queued",
                )
                o.retries += 1

                time.sleep(self.backoff * self.config.backoff_minute)  # grows exponentially
                self.backoff = min(self.backoff * BACKOFF_MULTIPLIER, BACKOFF_MAX)
                go(self.orders_check.send, o)  # put the order back on the queue for retry
                continue

            sl.info("consumer_check", state="complete")
            self.orders_validate.send(o)

    def process_authorization(self, ctx: context.Context, log: Logger, i: int, o: Order) -> None:
        """Check one authorization's challenges concurrently; the first success wins."""
        a: Authorization = o.authorizations[i]
        sl = log.with_(order=o.id, authorization=a.domain)

        # We wait for only one goroutine to complete successfully.
        authorized: Chan[Challenge] = Chan(1)

        # A cancellable context short-circuits the running goroutines.
        ctx, cancel = context.with_cancel(ctx)
        try:
            # The WaitGroup verifies that all goroutines exit properly.
            wg = WaitGroup()

            def check(c: Challenge) -> None:
                try:
                    if self.challenge_check(ctx, sl, c) is None:
                        # select with the cancellable context: never blocked if
                        # both dns and http pass, and stops once one passed.
                        select(ctx.done().recv, (authorized.send, c))
                finally:
                    wg.done()

            for c in a.challenges:
                if c.type in SUPPORTED_CHALLENGE_TYPES:
                    wg.add(1)
                    go(check, c)

            # Block until one of the challenges succeeds, or time out (re-queue).
            match select(authorized.recv, after(self.config.check_timeout).recv):
                case (0, c):
                    cancel()  # short-circuit any still running goroutines
                    wg.wait()  # validate we've cleaned up all goroutines
                    sl.info(
                        "authorization_check",
                        success=True,
                        index=i,
                        validation_method=c.type,
                    )
                    o.authorizations[i].authorized = True
                    o.authorizations[i].challenge_type = c.type
                case (1, _):  # no challenge is valid
                    cancel()
                    wg.wait()
                    sl.warn("authorization_check", reason="timeout")
        finally:
            cancel()  # defer cancel()

    def challenge_check(self, ctx: context.Context, log: Logger, c: Challenge) -> Exception | None:
        """Identify the challenge type and run its check; None means it passed."""
        if c.type == DNS01:
            return self.check_dns(ctx, log, c)
        if c.type == HTTP01:
            return self.check_http(ctx, log, c)
        return None

    def check_dns(self, ctx: context.Context, log: Logger, c: Challenge) -> Exception | None:
        """Look up the TXT record; None if it holds the expected value."""
        try:
            txt_records = lookup_txt(ctx, c.dns_name, self.config.dns_server)
        except Exception as exc:
            err = LookupError(f"failed to lookup TXT record: {exc}")
            log.warn("check_dns", err=err)
            return err
        if c.dns_value in txt_records:
            return None
        err = LookupError(
            f"record exists but does not contain correct value: {','.join(txt_records)}"
        )
        log.warn("check_dns", err=err)
        return err

    def check_http(self, ctx: context.Context, log: Logger, c: Challenge) -> Exception | None:
        """GET the challenge path; None if it answers the key authorization."""
        last_err: Exception | None = None
        endpoints = self.config.http_endpoints or {}

        for protocol in ("http", "https"):
            endpoint = f"{protocol}://{c.domain}{c.http_path}"
            sl = log.with_(endpoint=endpoint)

            base = endpoints.get(protocol)
            if base is None:
                last_err = ConnectionError(f"no {protocol} server for '{endpoint}'")
                sl.warn("check_http", err=last_err)
                continue

            try:
                res = get(ctx, base + c.http_path, headers={"Host": c.domain})
            except URLError as exc:
                # A cancelled context returns at once: we are either already
                # authorized or we timed out.
                if isinstance(exc.err, context.Canceled):
                    err = ConnectionError(f"failed to send http.Request: {ctx.err()}")
                    sl.warn("check_http", err=err)
                    return err
                last_err = ConnectionError(f"failed to send http.Request: {exc}")
                sl.warn("check_http", err=last_err)
                continue

            if res.status != 200:
                last_err = ValueError(f"invalid http status '{res.status_text}'")
                sl.warn("check_http", err=last_err)
                continue

            body = res.body.decode(errors="replace")
            if body != c.key_authorization:
                last_err = ValueError(
                    f"invalid response body '{body}': expected '{c.key_authorization}'"
                )
                sl.warn("check_http", err=last_err)
                continue

            return None  # success

        if last_err is not None:
            return last_err

        err = RuntimeError("unexpected code path reached")  # never reached
        log.error("check_http", err=err)
        return err


def lookup_txt(ctx: context.Context, name: str, server: tuple[str, int]) -> list[str]:
    """The TXT strings of ``name``, asked of ``server`` with dnspython.

    Like Go's ``net.Resolver.LookupTXT(ctx, name)``: when ``ctx`` is done the
    query's socket is shut down (``context.after_func``), which ends the wait
    at once, and the error is ``ctx.err()``.
    """
    if (err := ctx.err()) is not None:
        raise err
    query = dns.message.make_query(name, dns.rdatatype.TXT)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    mu = Mutex()
    closed = False

    def abort() -> None:  # runs as a goroutine once ctx is done
        with mu:
            if not closed:
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked receive
                except OSError:
                    pass

    try:
        # A connected, blocking UDP socket: shutting it down makes the pending
        # receive return at once (a non-blocking one would spin instead).
        sock.connect(server)
        stop = context.after_func(ctx, abort)
        try:
            answer = dns.query.udp(query, server[0], port=server[1], sock=sock)
        except Exception:
            if (err := ctx.err()) is not None:
                raise err from None
            raise
        finally:
            stop()
    finally:
        with mu:
            closed = True
            sock.close()
    if answer.rcode() == dns.rcode.NXDOMAIN:
        raise LookupError(f"lookup {name}: no such host")
    if answer.rcode() != dns.rcode.NOERROR:
        raise LookupError(f"lookup {name}: {dns.rcode.to_text(answer.rcode())}")
    return [
        b"".join(rdata.strings).decode()
        for rrset in answer.answer
        if rrset.rdtype == dns.rdatatype.TXT
        for rdata in rrset
    ]


# --------------------------------------------------------------------------
# The demo
# --------------------------------------------------------------------------


def demo(
    check_timeout: float,
    backoff_minute: float,
    max_retries: int,
    log_out: Any = None,
) -> dict[str, str | None]:
    """Run the stage on four orders against the local test bed.

    Returns the validation method of every domain (None: not validated).
    """
    with AcmeTestbed() as bed:
        # order-1: one domain validated by DNS, one by HTTP.
        bed.add_domain("example.com", dns_ok=True, http_ok=False)
        bed.add_domain("www.example.com", dns_ok=None, http_ok=True)
        # order-2: DNS stalls (far longer than the check timeout) so HTTP wins
        # and the DNS check is cancelled; and a domain where both pass.
        bed.add_domain("api.example.com", dns_ok=True, http_ok=True, dns_delay=60)
        bed.add_domain("shop.example.com", dns_ok=True, http_ok=True)
        # order-3: nothing is published until the customer fixes it (below).
        bed.add_domain("late.example.com", dns_ok=None, http_ok=None)
        # order-4: a wrong TXT value and no HTTP resource: never validates.
        bed.add_domain("dead.example.com", dns_ok=False, http_ok=None)

        def order(name: str, *domains: str) -> Order:
            return Order([bed.authorizations[d] for d in domains], id=name)

        orders = [
            order("order-1", "example.com", "www.example.com"),
            order("order-2", "api.example.com", "shop.example.com"),
            order("order-3", "late.example.com"),
            order("order-4", "dead.example.com"),
        ]

        config = Config(
            check_timeout=check_timeout,
            backoff_minute=backoff_minute,
            max_retries=max_retries,
            dns_server=(bed.host, bed.dns_port),
            http_endpoints={"http": bed.http_base},
        )
        p = Pipeline(config, Logger(out=log_out))
        consumer = WaitGroup()
        consumer.go(p.consumer_checks)

        def customer_fixes_late_domain(o: Order) -> None:
            # The customer publishes the HTTP challenge once told the first
            # check failed (the order was re-queued).
            while o.retries == 0:
                time.sleep(0.001)
            bed.configure("late.example.com", http_ok=True)

        go(customer_fixes_late_domain, orders[2])

        for o in orders:
            go(p.orders_check.send, o)  # producers enqueue the orders

        methods: dict[str, str | None] = {}
        for _ in orders:
            match select(p.orders_validate.recv, p.dead_letter.recv):
                case (0, o):
                    done = ", ".join(f"{a.domain} via {a.challenge_type}" for a in o.authorizations)
                    println(f"{o.id} complete after {o.retries} retries: {done}")
                case (1, o):
                    failed = ", ".join(a.domain for a in o.authorizations if not a.authorized)
                    println(f"{o.id} dead-lettered after {o.retries} failed attempts: {failed}")
            for a in o.authorizations:
                methods[a.domain] = a.challenge_type if a.authorized else None

        p.orders_check.close()  # every order is settled: nothing re-queues any more
        consumer.wait()
    return methods


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check-timeout", type=float, default=0.5 * SCALE, help="seconds (article: 5)"
    )
    parser.add_argument(
        "--backoff-minute",
        type=float,
        default=0.005,
        help="seconds that one backoff minute lasts (article: 60)",
    )
    parser.add_argument("--max-retries", type=int, default=MAX_RETRIES)
    parser.add_argument("--real-time", action="store_true", help="5 s checks, 60 s minutes")
    parser.add_argument("--quiet", action="store_true", help="no log lines on stderr")
    parser.add_argument("--fast", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.real_time:
        args.check_timeout, args.backoff_minute = CHECK_TIMEOUT, 60.0

    log_out = io.StringIO() if args.quiet else None
    methods = demo(args.check_timeout, args.backoff_minute, args.max_retries, log_out)
    println("\nValidation method per domain:")
    for domain, method in methods.items():
        println(f"  {domain}: {method or 'not validated'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
