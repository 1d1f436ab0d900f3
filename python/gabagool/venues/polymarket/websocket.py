"""A client WebSocket whose socket is closed on every way out.

trio-websocket's `open_websocket_url` leaves the TCP (or TLS) stream to the garbage
collector when the handshake fails or is cancelled: a feed that reconnects through an
outage then holds one unclosed socket per attempt until a collection finds it. Here the
stream is closed as soon as the connection ends, however it ends.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import trio
from trio_websocket import WebSocketConnection, wrap_client_stream


@asynccontextmanager
async def websocket_connection(
    url: str, *, connect_timeout: float, close_timeout: float
) -> AsyncIterator[WebSocketConnection]:
    """TCP (and TLS for wss://), then the handshake, within `connect_timeout` (else
    `trio.TooSlowError`); on the way out the close handshake gets `close_timeout` seconds,
    shielded from a cancel, and the stream is closed whatever happened. Errors of the
    connection's reader task come out of its nursery as an exception group."""
    parts = urlsplit(url)
    if parts.hostname is None:
        raise ValueError(f"{url!r} names no host")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname if port in (80, 443) else f"{parts.hostname}:{port}"
    async with trio.open_nursery() as nursery:
        with trio.fail_after(connect_timeout):
            stream: trio.SocketStream | trio.SSLStream[trio.SocketStream]
            if secure:
                stream = await trio.open_ssl_over_tcp_stream(
                    parts.hostname, port, ssl_context=ssl.create_default_context(),
                    https_compatible=True,
                )
            else:
                stream = await trio.open_tcp_stream(parts.hostname, port)
            try:
                ws = await wrap_client_stream(nursery, stream, host, resource)
            except BaseException:
                await trio.aclose_forcefully(stream)
                raise
        try:
            yield ws
        finally:
            with trio.CancelScope(shield=True):
                with trio.move_on_after(close_timeout):
                    await ws.aclose()
                await trio.aclose_forcefully(stream)
            nursery.cancel_scope.cancel()
