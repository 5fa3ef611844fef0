"""MLLP transport (``0x0B`` message ``0x1C 0x0D``): send one message and read one answer, with timeouts."""

from __future__ import annotations

import socket
import time

from node.ris.errors import MllpError

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
MAX_ANSWER_BYTES = 1024 * 1024


def frame(message: str) -> bytes:
    """The MLLP frame of ``message`` (UTF-8)."""
    return START_BLOCK + message.encode("utf-8") + END_BLOCK


def unframe(data: bytes) -> str:
    """The message inside an MLLP frame (bytes before the start block are ignored)."""
    start = data.find(START_BLOCK)
    end = data.find(END_BLOCK, start + 1)
    if start < 0 or end < 0:
        raise ValueError("not an MLLP frame")
    return data[start + 1 : end].decode("utf-8", errors="replace")


def exchange(
    host: str,
    port: int,
    message: str,
    *,
    connect_timeout: float,
    timeout: float,
    endpoint: str = "",
) -> str:
    """Send ``message`` and return the answer inside the first MLLP frame; raise :class:`MllpError`.

    ``timeout`` bounds the whole wait for the answer after the message is sent.
    """
    where = endpoint or f"{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=connect_timeout)
    except OSError as exc:
        raise MllpError(where, f"cannot connect to {host}:{port}: {exc}") from None
    with sock:
        try:
            sock.settimeout(timeout)
            sock.sendall(frame(message))
        except OSError as exc:
            raise MllpError(where, f"sending failed: {exc}") from None
        deadline = time.monotonic() + timeout
        buffer = b""
        while END_BLOCK not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MllpError(where, f"no acknowledgement within {timeout:g} s")
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                raise MllpError(where, f"no acknowledgement within {timeout:g} s") from None
            except OSError as exc:
                raise MllpError(where, f"connection failed while waiting for the ACK: {exc}") from None
            if not chunk:
                raise MllpError(where, "connection closed without an acknowledgement")
            buffer += chunk
            if len(buffer) > MAX_ANSWER_BYTES:
                raise MllpError(where, "answer larger than 1 MiB without an MLLP end block")
    try:
        return unframe(buffer)
    except ValueError:
        raise MllpError(where, "the answer is not MLLP-framed") from None
