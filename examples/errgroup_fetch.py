"""Error groups: fetch URLs concurrently; the first error cancels the rest.

The article's Go program ("Error Groups")::

    g, ctx := errgroup.WithContext(ctx)
    urls := []string{
        "https://http-me.fastly.dev/status=200",
        "https://http-me.fastly.dev/?wait=1000&status=201", // never completes (cancelled)
        "https://http-me.fastly.dev/?wait=1000&status=202", // never completes (cancelled)
        "https://http-me.fastly.dev/status=500",            // returns an error
    }
    for _, url := range urls {
        u := url
        g.Go(func() error {
            fmt.Println("Goroutine for ", u)
            req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
            ...
            resp, err := http.DefaultClient.Do(req)
            if err != nil {
                return fmt.Errorf("request failed: %w", err)
            }
            defer resp.Body.Close()
            if resp.StatusCode < http.StatusOK || resp.StatusCode >= http.StatusMultipleChoices {
                return fmt.Errorf("non-200 status: %d from %s", resp.StatusCode, u)
            }
            select {
            case <-time.After(time.Millisecond):
            case <-ctx.Done():
                fmt.Printf("Goroutine %s cancelled\\n", u)
                return ctx.Err()
            }
            fmt.Printf("Successfully fetched: %s\\n", u)
            return nil
        })
    }
    if err := g.Wait(); err != nil {
        fmt.Printf("Error: %v\\n", err)
    } else {
        fmt.Println("All fetches succeeded.")
    }

URL sets (``--set``, repeatable; default: all of them in turn):

``article``  the four URLs above: the ``status=500`` error cancels the rest;
             the ``wait=1000`` requests are really aborted (see ``_http.py``).
``wait500``  the article's variant with ``?wait=500&status=500``: now
             ``status=200`` has time to succeed before the error.
``all-ok``   only 2xx answers: ``All fetches succeeded.``
``limit``    ``g.SetLimit(2)`` over six slow URLs: ``g.Go`` blocks until a
             running goroutine finishes, so at most two fetch at once.

The server is a local http-me stand-in (``examples/services/httpme.py``) on
127.0.0.1; ``--url https://http-me.fastly.dev`` would use the real one.
The ``wait=`` values are scaled with ``--fast`` / ``GOCURRENT_EXAMPLE_SCALE``.
Run: ``python examples/errgroup_fetch.py [--set article] [--fast]``.
"""

from __future__ import annotations

import argparse

from _common import MILLISECOND, SCALE, heading, println
from _http import URLError, get
from gocurrent import after, atomic, context, errgroup, select


class StatusError(Exception):
    """A response whose status is not 2xx."""


class RequestError(Exception):
    """The request could not be sent or its answer not read (or was cancelled)."""


def ms(n: int) -> int:
    """A ``wait=`` value in milliseconds, scaled like the sleeps."""
    return max(1, round(n * SCALE))


def url_sets(base: str) -> dict[str, list[str]]:
    """The URL lists of the article (and two more), on the server at ``base``."""
    return {
        "article": [
            f"{base}/status=200",
            f"{base}/?wait={ms(1000)}&status=201",  # never completes (cancelled)
            f"{base}/?wait={ms(1000)}&status=202",  # never completes (cancelled)
            f"{base}/status=500",  # this one returns an error
        ],
        "wait500": [
            f"{base}/status=200",
            f"{base}/?wait={ms(1000)}&status=201",
            f"{base}/?wait={ms(1000)}&status=202",
            f"{base}/?wait={ms(500)}&status=500",  # a smaller delay on the error
        ],
        "all-ok": [
            f"{base}/status=200",
            f"{base}/?wait={ms(100)}&status=201",
            f"{base}/?wait={ms(200)}&status=202",
            f"{base}/?wait={ms(300)}&status=204",
        ],
        "limit": [f"{base}/?wait={ms(200)}&status=200&n={n}" for n in range(6)],
    }


def fetch_all(urls: list[str], limit: int | None = None) -> None:
    """The article's ``main``: one goroutine per URL in an errgroup."""
    ctx = context.background()

    # errgroup.with_context creates a new Group and a derived Context. The
    # context is cancelled when the first goroutine raises or when wait returns.
    g, ctx = errgroup.with_context(ctx)
    if limit is not None:
        g.set_limit(limit)  # g.go blocks until an active goroutine can be added

    def fetch(u: str) -> None:
        println("Goroutine for ", u)

        # The request carries the context: cancelling ctx aborts it.
        try:
            resp = get(ctx, u)
        except URLError as err:
            raise RequestError(f"request failed: {err}") from err

        # Treat non-2xx status codes (1xx, 3xx, 4xx, 5xx) as errors.
        if resp.status < 200 or resp.status >= 300:
            raise StatusError(f"non-200 status: {resp.status} from {u}")

        match select(after(1 * MILLISECOND).recv, ctx.done().recv):
            case (0, _):
                pass  # don't block forever, just enough to check ctx.done()
            case (1, _):
                # The context was cancelled before the work finished.
                println(f"Goroutine {u} cancelled")
                raise ctx.err()

        println(f"Successfully fetched: {u}")

    running, most = atomic.Int32(), atomic.Int32()

    def counted(u: str) -> None:  # for the "limit" set: how many run at once
        now = running.add(1)
        while (seen := most.load()) < now and not most.compare_and_swap(seen, now):
            pass
        try:
            fetch(u)
        finally:
            running.add(-1)

    for url in urls:
        # Go's loop copies the URL (u := url) for its closure; in Python the
        # URL is passed as the goroutine's argument instead.
        g.go(counted if limit is not None else fetch, url)  # a goroutine per URL

    # Wait for all goroutines to complete or any to return an error.
    try:
        g.wait()
    except Exception as err:
        println(f"Error: {err}")
    else:
        println("All fetches succeeded.")
    if limit is not None:
        println(f"At most {most.load()} fetches ran at once (limit {limit}).")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set",
        action="append",
        choices=["article", "wait500", "all-ok", "limit"],
        help="which URL set to fetch (repeatable; default: all in turn)",
    )
    parser.add_argument("--url", help="an http-me compatible server instead of the local one")
    parser.add_argument("--fast", action="store_true", help="scale the waits by 0.1")
    args = parser.parse_args(argv)
    chosen = args.set or ["article", "wait500", "all-ok", "limit"]

    def run(base: str) -> None:
        sets = url_sets(base)
        for name in chosen:
            if len(chosen) > 1:
                heading(f"URL set: {name}")
            fetch_all(sets[name], limit=2 if name == "limit" else None)

    if args.url:
        run(args.url.rstrip("/"))
    else:
        from examples.services.httpme import HttpMeServer

        with HttpMeServer() as server:  # a real HTTP server on 127.0.0.1
            run(server.url)


if __name__ == "__main__":
    main()
