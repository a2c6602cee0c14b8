"""Real local services that the gocurrent example scripts talk to.

Everything listens on 127.0.0.1 only, on ephemeral ports:

* :mod:`.httpme` -- ``HttpMeServer``: answers ``status=NNN`` after ``wait=MS``
  (a stand-in for http-me.fastly.dev, used by the Error Groups example).
* :mod:`.kvstore` -- ``KVStoreServer``: a Fastly-KV-store-shaped HTTP API in
  its own process (the Bulk Deletion example).
* :mod:`.acme_local` -- ``AcmeTestbed``: a DNS server and an HTTP-01 server
  plus ACME challenge data from certbot's ``acme`` library (the TLS
  certificate pipeline example).

Submodules are not imported here, so importing the package needs nothing
beyond the standard library; ``acme_local`` needs the packages listed in
``requirements.txt``.
"""
