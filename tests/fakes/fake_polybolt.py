"""A fake PolyBolt reference-price server on 127.0.0.1: each connection follows the next
`Session` script (the last one repeats), and every client op is kept for the test to read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import trio
from trio_websocket import ConnectionClosed, WebSocketRequest, serve_websocket


@dataclass
class Session:
    """What the server does on one connection, in order."""

    auth: str = "ok"  # ok | error (an error reply, then close 4001) | close4001
    subscribe_errors: dict[str, str] = field(default_factory=dict)  # channel -> error code
    frames: list[Any] = field(default_factory=list)  # sent after the subscription acks
    close_code: int | None = None  # then close with it; None: stay open and silent
    ping: bool = False  # send an `op: ping` before the frames
    # (unix ns, text) sent when `FakePolyBolt.clock` reaches each; those already past when
    # the connection subscribes are skipped, as a live server's would be
    stream: list[tuple[int, str]] = field(default_factory=list)


class FakePolyBolt:
    def __init__(self, api_key: str, secret: str, passphrase: str,
                 sessions: list[Session], clock: Any = None, dies_at_ns: int | None = None) -> None:
        """`clock`: a `UnixClock` for the sessions' `stream`; `dies_at_ns`: from then on
        the server is gone (its connection closed 1011 at its next frame, new ones refused)."""
        self.expected = {"apiKey": api_key, "secret": secret, "passphrase": passphrase}
        self.sessions = sessions
        self.clock = clock
        self.dies_at_ns = dies_at_ns
        self.dead = False
        self.streamed = 0
        self.refused = 0
        self.connections = 0
        self.received: list[dict[str, Any]] = []
        self.connected_at: list[float] = []

    async def serve(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            server = await nursery.start(serve_websocket, self._handle, "127.0.0.1", 0, None)
            task_status.started(f"ws://127.0.0.1:{server.port}/ws")

    async def _receive(self, ws: Any) -> dict[str, Any]:
        op = json.loads(await ws.get_message())
        self.received.append(op)
        return op

    async def _handle(self, request: WebSocketRequest) -> None:
        if self.dead:
            self.refused += 1
            await request.reject(503)
            return
        ws = await request.accept()
        script = self.sessions[min(self.connections, len(self.sessions) - 1)]
        self.connections += 1
        self.connected_at.append(trio.current_time())
        try:
            auth = await self._receive(ws)
            if script.auth == "close4001":
                await ws.aclose(4001, "authentication failed")
                return
            if script.auth != "ok" or auth.get("auth") != self.expected:
                await ws.send_message(json.dumps(
                    {"op": "error", "code": "unauthorized", "rid": auth.get("rid")}))
                await ws.aclose(4001, "authentication failed")
                return
            await ws.send_message(json.dumps({"op": "authed", "rid": auth.get("rid")}))
            subscribe = await self._receive(ws)
            for sub in subscribe["subscriptions"]:
                channel = sub["channel"]
                if channel in script.subscribe_errors:
                    reply = {"op": "error", "code": script.subscribe_errors[channel],
                             "channel": channel, "rid": subscribe["rid"]}
                else:
                    reply = {"op": "subscribed", "channel": channel, "rid": subscribe["rid"]}
                await ws.send_message(json.dumps(reply))
            if script.ping:
                await ws.send_message(json.dumps({"op": "ping", "rid": "srv1"}))
            for frame in script.frames:
                await ws.send_message(frame if isinstance(frame, str) else json.dumps(frame))
            for t_ns, text in script.stream:
                if t_ns < self.clock.now_ns():
                    continue
                await trio.sleep_until(self.clock.trio_time(t_ns))
                if self.dies_at_ns is not None and t_ns >= self.dies_at_ns:
                    self.dead = True
                    await ws.aclose(1011, "server gone")
                    return
                await ws.send_message(text)
                self.streamed += 1
            if script.close_code is not None:
                await ws.aclose(script.close_code, "scripted close")
                return
            while True:  # keep reading (pongs) until the client goes away
                await self._receive(ws)
        except ConnectionClosed:
            return
