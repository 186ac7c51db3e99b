"""The upload form as a streamed ``multipart/form-data`` body: text fields, then one file.

requests_toolbelt's ``MultipartEncoder`` did this before. Importing it costs more CPU
than a tiny release's whole upload (it loads its adapters, auth and decoder modules
too), and the legacy upload API needs only this much: text fields, one file read in
blocks (memory stays flat for any size) and a length known in advance, so the request
carries Content-Length and never chunked encoding.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Sequence
from typing import BinaryIO


def _quote(text: str) -> str:
    """A name or file name for a Content-Disposition header, escaped as browsers do."""
    return text.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartBody:
    """A read-only, file-like body of known length (``len(body)``) for requests.

    ``fh`` is read from where it stands to its end as it was when the body was made;
    the caller keeps it open until the request is sent.
    """

    def __init__(
        self,
        fields: Sequence[tuple[str, str]],
        file_field: str,
        filename: str,
        fh: BinaryIO,
        content_type: str = "application/octet-stream",
    ) -> None:
        self.boundary = uuid.uuid4().hex  # 122 random bits: never found in a file by chance
        dash = f"--{self.boundary}\r\n".encode()
        head = bytearray()
        for name, value in fields:
            head += dash
            head += f'Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()
            head += value.encode("utf-8") + b"\r\n"
        head += dash
        head += (
            f'Content-Disposition: form-data; name="{_quote(file_field)}"; '
            f'filename="{_quote(filename)}"\r\nContent-Type: {content_type}\r\n\r\n'
        ).encode()
        self._file = fh
        self._file_name = filename
        self._file_left = os.fstat(fh.fileno()).st_size - fh.tell()
        self._head = io.BytesIO(bytes(head))
        self._tail = io.BytesIO(f"\r\n--{self.boundary}--\r\n".encode())
        self.len = len(head) + self._file_left + len(self._tail.getvalue())

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self.len

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left if negative); b"" at the end."""
        want = self.len if size is None or size < 0 else size
        out = bytearray(self._head.read(want))
        if len(out) < want and self._file_left > 0:
            block = self._file.read(min(want - len(out), self._file_left))
            if not block:  # the declared length can no longer be kept: fail, never send less
                raise OSError(f"{self._file_name} shrank while it was being uploaded")
            self._file_left -= len(block)
            out += block
        if len(out) < want and self._file_left == 0:
            out += self._tail.read(want - len(out))
        return bytes(out)
