"""A fake legacy RTDS server on 127.0.0.1: answers the text PING with PONG, sends scripted
frames after the subscription, then stays open (silent) or closes."""

from __future__ import annotations

import json
from typing import Any

import trio
from trio_websocket import ConnectionClosed, WebSocketRequest, serve_websocket


class FakeRtds:
    def __init__(self, frames: list[Any], close_code: int | None = None) -> None:
        self.frames = frames
        self.close_code = close_code
        self.connections = 0
        self.subscriptions: list[dict[str, Any]] = []
        self.pings = 0

    async def serve(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            server = await nursery.start(serve_websocket, self._handle, "127.0.0.1", 0, None)
            task_status.started(f"ws://127.0.0.1:{server.port}")

    async def _handle(self, request: WebSocketRequest) -> None:
        ws = await request.accept()
        self.connections += 1
        try:
            self.subscriptions.append(json.loads(await ws.get_message()))
            for frame in self.frames:
                await ws.send_message(frame if isinstance(frame, str) else json.dumps(frame))
            if self.close_code is not None:
                await ws.aclose(self.close_code, "scripted close")
                return
            while True:
                if await ws.get_message() == "PING":
                    self.pings += 1
                    await ws.send_message("PONG")
        except ConnectionClosed:
            return
