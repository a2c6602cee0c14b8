"""Tests of the local example services (they start real servers on 127.0.0.1)."""
