"""redact: registered tokens, URL credentials and Authorization headers never leave masked."""

from __future__ import annotations

import base64
import secrets as stdlib_secrets

import pytest

from codeartifact_multiregion.secrets import MASK, redact, register_secret


@pytest.fixture
def token() -> str:
    value = stdlib_secrets.token_urlsafe(48)
    register_secret(value)
    return value


def test_a_registered_token_is_masked_wherever_it_appears(token: str) -> None:
    text = f"error: {token} was refused; body={{'token': '{token}'}}"
    out = redact(text)
    assert token not in out and out.count(MASK) == 2


def test_an_unregistered_string_is_left_alone() -> None:
    assert redact("nothing secret here: abc123") == "nothing secret here: abc123"


def test_a_longer_secret_is_masked_before_its_prefix() -> None:
    short = stdlib_secrets.token_hex(8)
    longer = short + stdlib_secrets.token_hex(8)
    register_secret(short)
    register_secret(longer)
    out = redact(f"x {longer} y")
    assert out == f"x {MASK} y", "no tail of the longer secret survives"


def test_an_empty_secret_is_not_registered() -> None:
    register_secret("")
    assert redact("abc") == "abc"


@pytest.mark.parametrize(
    "url", ["https://aws:s3cr3t@acme.example/simple/", "http://user:p%40ss@127.0.0.1:8080/x"]
)
def test_url_credentials_are_masked(url: str) -> None:
    out = redact(f"GET {url} failed")
    assert "s3cr3t" not in out and "p%40ss" not in out
    assert f"://{MASK}@" in out


@pytest.mark.parametrize(
    "header",
    [
        "Authorization: Basic {v}",
        "authorization: bearer {v}",
        "'Authorization': 'Basic {v}'",
        '"authorization"="Bearer {v}"',
        "{{'Authorization': 'Basic {v}', 'x': 1}}",
    ],
)
def test_authorization_header_values_are_masked(header: str) -> None:
    value = base64.b64encode(b"aws:unregistered-token").decode()
    out = redact("echoed: " + header.format(v=value))
    assert value not in out and MASK in out


def test_anything_is_redacted_through_its_str(token: str) -> None:
    assert redact(RuntimeError(f"boom {token}")) == f"boom {MASK}"
