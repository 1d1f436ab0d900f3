"""The control channel: halt / resume / panic / stop, from the CLI, signals or the API."""

from __future__ import annotations

from typing import Literal

import trio

Command = Literal["halt", "resume", "panic", "stop"]
COMMANDS: tuple[Command, ...] = ("halt", "resume", "panic", "stop")


class ControlError(ValueError):
    """An unknown command."""


class Control:
    """A bounded queue of commands; the engine's control task serves them in order."""

    def __init__(self, capacity: int = 64) -> None:
        self._send, self.receive = trio.open_memory_channel[Command](capacity)

    def send_nowait(self, command: str) -> None:
        self._send.send_nowait(_checked(command))

    async def send(self, command: str) -> None:
        await self._send.send(_checked(command))


def _checked(command: str) -> Command:
    if command not in COMMANDS:
        raise ControlError(f"unknown command {command!r}; expected one of {', '.join(COMMANDS)}")
    return command  # type: ignore[return-value]
