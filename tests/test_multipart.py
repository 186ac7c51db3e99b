"""The streamed upload form: what a server's multipart parser reads back is what was sent."""

from __future__ import annotations

import email.parser
import email.policy
from pathlib import Path

import pytest

from codeartifact_multiregion.multipart import MultipartBody

FIELDS = [
    ("name", "hello-internal"),
    ("version", "1.0.0"),
    ("description", 'line one\r\n--not-a-boundary\r\n"quoted" ünïcode'),
    ("classifiers", "A :: B"),
    ("classifiers", "C :: D"),
]


def _parse(body: bytes, content_type: str) -> list[tuple[str, str | None, bytes]]:
    """(name, filename, payload) of every part, by the standard library's MIME parser."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    assert message.is_multipart()
    return [
        (
            part.get_param("name", header="content-disposition"),
            part.get_filename(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    ]


def _read_all(body: MultipartBody, block: int) -> bytes:
    out = bytearray()
    while chunk := body.read(block):
        out += chunk
    return bytes(out)


@pytest.mark.parametrize("block", [1, 7, 8192, 1 << 20])
def test_fields_and_file_arrive_intact_in_any_block_size(tmp_path: Path, block: int) -> None:
    payload = bytes(range(256)) * 300 + b"\r\n--" + b"x" * 10
    path = tmp_path / "hello_internal-1.0.0-py3-none-any.whl"
    path.write_bytes(payload)
    with path.open("rb") as fh:
        body = MultipartBody(FIELDS, "content", path.name, fh)
        data = _read_all(body, block)
    assert len(data) == len(body), "Content-Length is exactly what is sent"
    parts = _parse(data, body.content_type)
    assert [(n, v.encode()) for n, v in FIELDS] == [(n, p) for n, f, p in parts[:-1]]
    assert parts[-1] == ("content", path.name, payload)


def test_a_file_that_shrinks_mid_upload_fails_rather_than_sending_less(tmp_path: Path) -> None:
    path = tmp_path / "a-1.0.tar.gz"
    path.write_bytes(b"x" * 1000)
    with path.open("rb") as fh:
        body = MultipartBody([], "content", path.name, fh)
        path.write_bytes(b"x" * 10)  # truncated in place by another process
        with pytest.raises(OSError, match="shrank"):
            _read_all(body, 64)


def test_quotes_and_line_breaks_cannot_break_out_of_the_header(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"")
    with path.open("rb") as fh:
        body = MultipartBody([('a"\r\nX-Evil: 1', "v")], "content", 'b"\r\n.whl', fh)
        data = _read_all(body, 1 << 16)
    assert b"X-Evil: 1\r\n" not in data
    assert b'name="a%22%0D%0AX-Evil: 1"' in data
