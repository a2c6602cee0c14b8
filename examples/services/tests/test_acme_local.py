"""ACME test bed: challenge values from the acme library, real DNS and HTTP-01 servers."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http.client
import threading
import time
from collections.abc import Iterator

import pytest

pytest.importorskip("acme")
pytest.importorskip("dnslib")
dns_resolver = pytest.importorskip("dns.resolver")

from acme import challenges  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from dns.exception import DNSException  # noqa: E402
from josepy.b64 import b64decode, b64encode  # noqa: E402

from examples.services import acme_local  # noqa: E402
from examples.services.acme_local import (  # noqa: E402
    DNS01,
    HTTP01,
    SUPPORTED_CHALLENGE_TYPES,
    TLSALPN01,
    AcmeTestbed,
    Authorization,
    Challenge,
    Order,
    make_challenges,
    new_account_key,
)


@pytest.fixture(scope="module")
def bed() -> Iterator[AcmeTestbed]:
    with AcmeTestbed() as testbed:
        yield testbed


def http_get(bed: AcmeTestbed, path: str, host: str, timeout: float = 10.0) -> tuple[int, str]:
    """GET ``path`` from the HTTP-01 server with ``Host: host``."""
    conn = http.client.HTTPConnection("127.0.0.1", bed.http_port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def txt(bed: AcmeTestbed, name: str, *, tcp: bool = False) -> list[str]:
    answer = bed.resolver().resolve(name, "TXT", tcp=tcp)
    return [b"".join(rdata.strings).decode() for rdata in answer]


# -- challenge data ---------------------------------------------------------


def test_values_match_the_acme_library() -> None:
    key = new_account_key()
    authz = Authorization("example.com", make_challenges("example.com", key))
    assert [c.type for c in authz.challenges] == [DNS01, HTTP01, TLSALPN01]
    thumbprint = b64encode(key.thumbprint(hash_function=hashes.SHA256)).decode()

    dns = authz.challenge(DNS01)
    assert isinstance(dns.acme, challenges.DNS01)
    assert dns.key_authorization == dns.acme.key_authorization(key)
    assert dns.key_authorization == f"{dns.token}.{thumbprint}"
    assert dns.dns_value == dns.acme.validation(key)
    digest = hashlib.sha256(dns.key_authorization.encode()).digest()
    assert dns.dns_value == b64encode(digest).decode()
    assert dns.dns_name == "_acme-challenge.example.com"

    http = authz.challenge(HTTP01)
    assert isinstance(http.acme, challenges.HTTP01)
    response, validation = http.acme.response_and_validation(key)
    assert http.key_authorization == validation == response.key_authorization
    assert response.verify(http.acme, key.public_key())
    assert http.http_path == f"/.well-known/acme-challenge/{http.token}"
    assert http.http_path == http.acme.path

    tls = authz.challenge(TLSALPN01)
    assert tls.key_authorization == f"{tls.token}.{thumbprint}"
    assert TLSALPN01 not in SUPPORTED_CHALLENGE_TYPES
    with pytest.raises(KeyError):
        Authorization("x", ()).challenge(DNS01)


def test_tokens_are_fresh_and_models_are_plain_data() -> None:
    key = new_account_key()
    a = make_challenges("a.test", key, [DNS01])
    b = make_challenges("a.test", key, [DNS01])
    assert a[0].token != b[0].token
    assert len(b64decode(a[0].token)) == 32
    order = Order([Authorization("a.test", a)])
    order.authorizations[0].authorized = True
    order.authorizations[0].challenge_type = DNS01
    assert order.retries == 0
    assert isinstance(a[0], Challenge)


# -- DNS ----------------------------------------------------------------------


def test_dns_txt_lookup_returns_the_published_value(bed: AcmeTestbed) -> None:
    authz = bed.add_domain("dns-ok.example")
    chall = authz.challenge(DNS01)
    assert txt(bed, chall.dns_name) == [chall.dns_value]
    assert txt(bed, chall.dns_name, tcp=True) == [chall.dns_value]
    assert txt(bed, chall.dns_name.upper() + ".") == [chall.dns_value]


def test_dns_wrong_and_missing(bed: AcmeTestbed) -> None:
    wrong = bed.add_domain("dns-wrong.example", dns_ok=False).challenge(DNS01)
    values = txt(bed, wrong.dns_name)
    assert len(values) == 1 and values != [wrong.dns_value]
    missing = bed.add_domain("dns-missing.example", dns_ok=None).challenge(DNS01)
    with pytest.raises(dns_resolver.NXDOMAIN):
        bed.resolver().resolve(missing.dns_name, "TXT")
    with pytest.raises(dns_resolver.NoAnswer):
        bed.resolver().resolve(wrong.dns_name, "A")


def test_dns_configure_and_publish_txt(bed: AcmeTestbed) -> None:
    chall = bed.add_domain("dns-flip.example", dns_ok=None).challenge(DNS01)
    bed.configure("dns-flip.example", dns_ok=True)
    assert txt(bed, chall.dns_name) == [chall.dns_value]
    bed.publish_txt("_acme-challenge.other.example", "one", "two")
    assert sorted(txt(bed, "_acme-challenge.other.example")) == ["one", "two"]
    bed.publish_txt("_acme-challenge.other.example")
    with pytest.raises(dns_resolver.NXDOMAIN):
        bed.resolver().resolve("_acme-challenge.other.example", "TXT")


def test_dns_delay_and_async_resolver(bed: AcmeTestbed) -> None:
    chall = bed.add_domain("dns-slow.example", dns_delay=0.3).challenge(DNS01)
    start = time.monotonic()
    assert txt(bed, chall.dns_name) == [chall.dns_value]
    assert time.monotonic() - start >= 0.29
    with pytest.raises(dns_resolver.LifetimeTimeout):
        bed.resolver(lifetime=0.1).resolve(chall.dns_name, "TXT")

    async def lookup() -> list[str]:
        answer = await bed.async_resolver().resolve(chall.dns_name, "TXT")
        return [b"".join(r.strings).decode() for r in answer]

    assert asyncio.run(lookup()) == [chall.dns_value]


# -- HTTP-01 ------------------------------------------------------------------


def test_http_challenge_served_for_the_right_host(bed: AcmeTestbed) -> None:
    chall = bed.add_domain("http-ok.example").challenge(HTTP01)
    assert bed.http_url(chall) == f"http://127.0.0.1:{bed.http_port}{chall.http_path}"
    assert http_get(bed, chall.http_path, "http-ok.example") == (
        200,
        chall.key_authorization,
    )
    assert http_get(bed, chall.http_path, "HTTP-OK.example.:80")[0] == 200
    assert http_get(bed, chall.http_path, "other.example")[0] == 404
    assert http_get(bed, "/.well-known/acme-challenge/nope", "http-ok.example")[0] == 404
    assert http_get(bed, "/", "http-ok.example")[0] == 404


def test_acme_library_verifies_against_the_local_server(bed: AcmeTestbed) -> None:
    """certbot's own http-01 verifier, pointed at 127.0.0.1:PORT (Host: 127.0.0.1)."""
    key = bed.account_key
    for ok in (True, False):
        chall = bed.add_domain("127.0.0.1", http_ok=ok).challenge(HTTP01)
        assert isinstance(chall.acme, challenges.HTTP01)
        response = chall.acme.response(key)
        assert isinstance(response, challenges.HTTP01Response)
        verified = response.simple_verify(
            chall.acme, "127.0.0.1", key.public_key(), port=bed.http_port, timeout=5
        )
        assert verified is ok
    assert bed.authorizations["127.0.0.1"].challenge(HTTP01) is chall
    old_token_path = chall.http_path
    bed.add_domain("127.0.0.1")  # new tokens: the old one is unpublished
    assert http_get(bed, old_token_path, "127.0.0.1")[0] == 404
    dns = bed.add_domain("dns-verify.example").challenge(DNS01)
    assert isinstance(dns.acme, challenges.DNS01)
    dns_response = dns.acme.response(key)
    assert isinstance(dns_response, challenges.DNS01Response)
    assert dns_response.simple_verify(dns.acme, dns.domain, key.public_key())


def test_http_wrong_missing_and_configure(bed: AcmeTestbed) -> None:
    wrong = bed.add_domain("http-wrong.example", http_ok=False).challenge(HTTP01)
    status, body = http_get(bed, wrong.http_path, "http-wrong.example")
    assert status == 200 and body != wrong.key_authorization
    missing = bed.add_domain("http-missing.example", http_ok=None).challenge(HTTP01)
    assert http_get(bed, missing.http_path, "http-missing.example")[0] == 404
    bed.configure("http-missing.example", http_ok=True)
    assert http_get(bed, missing.http_path, "http-missing.example") == (
        200,
        missing.key_authorization,
    )
    bed.publish_http("custom.example", "tok", "tok.body")
    assert http_get(bed, "/.well-known/acme-challenge/tok", "custom.example") == (
        200,
        "tok.body",
    )


def test_http_delay(bed: AcmeTestbed) -> None:
    chall = bed.add_domain("http-slow.example", http_delay=0.3).challenge(HTTP01)
    start = time.monotonic()
    assert http_get(bed, chall.http_path, "http-slow.example")[0] == 200
    assert time.monotonic() - start >= 0.29


def test_stop_is_prompt_with_stalled_answers() -> None:
    bed = AcmeTestbed().start()
    authz = bed.add_domain("stall.example", dns_delay=30, http_delay=30)
    done: list[str] = []

    def stalled_dns() -> None:
        with contextlib.suppress(DNSException):  # any outcome will do: it must end
            bed.resolver(lifetime=20).resolve(authz.challenge(DNS01).dns_name, "TXT")
        done.append("dns")

    def stalled_http() -> None:
        try:
            http_get(bed, authz.challenge(HTTP01).http_path, "stall.example", timeout=20)
        except OSError:
            pass
        done.append("http")

    threads = [
        threading.Thread(target=stalled_dns),
        threading.Thread(target=stalled_http),
    ]
    for t in threads:
        t.start()
    bed.wait_stalled(2, timeout=60)  # both requests arrived and are held back
    start = time.monotonic()
    bed.stop()
    assert time.monotonic() - start < 2.0
    for t in threads:
        t.join(timeout=5)
    assert sorted(done) == ["dns", "http"]


def test_an_answer_released_by_stop_goes_out_even_when_slow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stop waits for a released answer before it closes the sockets.

    A loaded machine can leave the released handler unscheduled until the
    sockets are closed; its answer was then lost and the client waited out its
    whole lifetime (seen once in CI).  The sleep stands in for that.
    """
    stall = acme_local._Tables.stall

    def slow_after_release(tables: acme_local._Tables, delay: float) -> bool:
        released = stall(tables, delay)
        time.sleep(0.3)
        return released

    monkeypatch.setattr(acme_local._Tables, "stall", slow_after_release)
    bed = AcmeTestbed().start()
    chall = bed.add_domain("slow-release.example", dns_delay=30).challenge(DNS01)
    answers: list[list[str]] = []
    asker = threading.Thread(
        target=lambda: answers.append(
            [
                b"".join(rdata.strings).decode()
                for rdata in bed.resolver(lifetime=20).resolve(chall.dns_name, "TXT")
            ]
        )
    )
    asker.start()
    bed.wait_stalled(1, timeout=60)
    bed.stop()
    asker.join(timeout=10)
    assert answers == [[chall.dns_value]]
