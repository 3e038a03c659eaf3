"""One HTTP/1.1 exchange written byte for byte: header values that are no UTF-8, which an
HTTP client will not send (it takes text)."""

from __future__ import annotations

import asyncio
import json
from typing import Any


class RawAnswer:
    """The answer's status, headers (read as Latin-1) and JSON body (None when empty)."""

    def __init__(self, status: int, headers: dict[str, str], body: Any) -> None:
        self.status, self.headers, self.body = status, headers, body


async def send_raw(
    url: str, method: str, path: str, headers: dict[str, str | bytes], body: bytes = b""
) -> RawAnswer:
    """``method path`` to the server at ``url`` (``http://127.0.0.1:port``), the headers'
    bytes as given; the connection closes after the answer."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n".encode()
    head += f"Content-Length: {len(body)}\r\n".encode()
    for name, value in headers.items():
        head += name.encode() + b": " + (value if isinstance(value, bytes) else value.encode())
        head += b"\r\n"
    writer.write(head + b"\r\n" + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    top, _, content = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    answered = dict(line.split(": ", 1) for line in lines[1:])
    return RawAnswer(int(lines[0].split()[1]), answered, json.loads(content) if content else None)
