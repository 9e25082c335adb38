"""SLACK_FILE_HOSTS: which URLs a download may even be attempted for."""

from __future__ import annotations

import pytest

from bot.slack.download import is_allowed, parse_hosts

DEFAULT = parse_hosts(["files.slack.com"])
TESTS = parse_hosts(["127.0.0.1:8765", "files.slack.com"])


@pytest.mark.parametrize(("url", "hosts", "allowed"), [
    ("https://files.slack.com/files-pri/T1-F1/download/a.png", DEFAULT, True),
    ("https://FILES.slack.com:443/files-pri/T1-F1/a.png", DEFAULT, True),
    ("http://files.slack.com/files-pri/T1-F1/a.png", DEFAULT, False),     # plain http
    ("https://files.slack.com:8443/x", DEFAULT, False),
    ("https://files.slack.com.evil.example/x", DEFAULT, False),
    ("https://evil.example/files.slack.com/x", DEFAULT, False),
    ("https://user:pw@files.slack.com/x", DEFAULT, False),
    ("http://127.0.0.1:22/", DEFAULT, False),
    ("http://169.254.169.254/latest/meta-data/", DEFAULT, False),
    ("http://[::1]:8765/x", TESTS, False),
    ("file:///etc/passwd", DEFAULT, False),
    ("gopher://files.slack.com/x", DEFAULT, False),
    ("https://files.slack.com:notaport/x", DEFAULT, False),
    ("http://127.0.0.1:8765/files-pri/T1-F1/a.png", TESTS, True),
    ("http://127.0.0.1:8766/x", TESTS, False),
    ("http://127.0.0.1/x", TESTS, False),
])
def test_only_allowed_hosts(url: str, hosts, allowed: bool) -> None:
    assert is_allowed(url, hosts) is allowed
