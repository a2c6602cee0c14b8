"""The TLS certificate pipeline against the local DNS and HTTP-01 servers."""

from __future__ import annotations

import re

import pytest
from ex_support import run_example

pytestmark = pytest.mark.timeout(60)


def test_demo_validates_requeues_and_dead_letters() -> None:
    proc = run_example(
        "tls_pipeline",
        "--check-timeout", "0.4",
        "--backoff-minute", "0.0005",
        "--max-retries", "2",
    )  # fmt: skip
    out = proc.stdout.splitlines()
    assert (
        "order-1 complete after 0 retries: example.com via dns-01, www.example.com via http-01"
        in out
    )
    order2 = next(line for line in out if line.startswith("order-2 "))
    assert re.fullmatch(
        r"order-2 complete after 0 retries: api\.example\.com via http-01, "
        r"shop\.example\.com via (dns-01|http-01)",
        order2,
    )
    order3 = next(line for line in out if line.startswith("order-3 "))
    m = re.fullmatch(
        r"order-3 complete after (\d+) retries: late\.example\.com via http-01", order3
    )
    assert m and int(m.group(1)) >= 1  # published late: validated on a retry
    assert "order-4 dead-lettered after 3 failed attempts: dead.example.com" in out
    summary = out[out.index("Validation method per domain:") + 1 :]
    assert summary[0] == "  example.com: dns-01"
    assert "  dead.example.com: not validated" in summary
    assert len(summary) == 6

    log = proc.stderr
    # api.example.com's DNS answer stalls for 60 s: HTTP wins and the DNS
    # lookup is cancelled through the context (the run takes seconds).
    assert re.search(
        r"msg=check_dns order=order-2 authorization=api\.example\.com "
        r'err="failed to lookup TXT record: context canceled"',
        log,
    ), log
    assert "state=re-queued" in log
    assert re.search(r"order=order-4 retries\.current=3 retries\.max=2 state=dead", log)
    # tls-alpn-01 is offered by the test bed but not supported: never checked.
    assert "tls-alpn" not in log


def _pipeline(bed, check_timeout: float):
    import io

    import tls_pipeline

    config = tls_pipeline.Config(
        check_timeout=check_timeout,
        backoff_minute=0.0,
        dns_server=(bed.host, bed.dns_port),
        http_endpoints={"http": bed.http_base},
    )
    return tls_pipeline, tls_pipeline.Pipeline(config, tls_pipeline.Logger(out=io.StringIO()))


@pytest.mark.timeout(20)
def test_first_success_cancels_a_stalled_check() -> None:
    from gocurrent import context

    from examples.services.acme_local import AcmeTestbed

    with AcmeTestbed() as bed:
        authz = bed.add_domain("slow-dns.test", dns_ok=True, http_ok=True, dns_delay=60)
        mod, p = _pipeline(bed, check_timeout=30)
        order = mod.Order([authz], id="t")
        # Returns as soon as HTTP passes: the 60 s DNS check is cancelled and
        # waited for (wg.wait) well within the test's 20 s timeout.
        p.process_authorization(context.background(), p.log, 0, order)
        log = p.log.out.getvalue()
    assert authz.authorized and authz.challenge_type == "http-01"
    assert "failed to lookup TXT record: context canceled" in log


@pytest.mark.timeout(20)
def test_no_valid_challenge_times_out() -> None:
    from gocurrent import context

    from examples.services.acme_local import AcmeTestbed

    with AcmeTestbed() as bed:
        authz = bed.add_domain("nothing.test", dns_ok=None, http_ok=False)
        mod, p = _pipeline(bed, check_timeout=0.3)
        p.process_authorization(context.background(), p.log, 0, mod.Order([authz], id="t"))
        log = p.log.out.getvalue()
    assert not authz.authorized and authz.challenge_type is None
    assert "reason=timeout" in log
    assert "no such host" in log
    assert "invalid response body" in log


def test_lookup_txt_reads_the_local_dns_server() -> None:
    import tls_pipeline
    from gocurrent import context

    from examples.services.acme_local import DNS01, AcmeTestbed

    with AcmeTestbed() as bed:
        chall = bed.add_domain("txt.test", dns_ok=True).challenge(DNS01)
        values = tls_pipeline.lookup_txt(
            context.background(), chall.dns_name, (bed.host, bed.dns_port)
        )
    assert values == [chall.dns_value]
