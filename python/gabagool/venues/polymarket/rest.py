"""GET with retries for the public Polymarket APIs (Gamma, CLOB): backoff with jitter on
5xx, 429 (honouring `Retry-After`) and transport errors; JSON decoded with exact decimals.

Gamma writes prices and sizes as JSON numbers (`0.01`, `0.07`): they are read as `Decimal`
from their text, never through a float.
"""

from __future__ import annotations

import json
import logging
import random
from decimal import Decimal
from typing import Any

import httpx
import trio

log = logging.getLogger("gabagool.polymarket")

MAX_RETRY_AFTER = 30.0  # seconds: a longer `Retry-After` is capped, the caller's deadline rules


class Unavailable(Exception):
    """The API could not be reached or kept failing: the text is one line saying why."""


class NotFound(LookupError):
    """The API answered 404 (or an empty result) for what was asked."""


class RetryPolicy:
    """Exponential backoff with full jitter from a seeded RNG (tests replay it exactly)."""

    def __init__(
        self,
        attempts: int = 5,
        base: float = 0.5,
        cap: float = 8.0,
        rng: random.Random | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts {attempts} must be at least 1")
        self.attempts = attempts
        self.base = base
        self.cap = cap
        self.rng = rng or random.Random(0)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1 for the first retry)."""
        ceiling = min(self.cap, self.base * 2 ** (attempt - 1))
        return ceiling / 2 + self.rng.random() * ceiling / 2


def decode_json(body: bytes | str) -> Any:
    return json.loads(body, parse_float=Decimal)


def retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(Decimal(value.strip()))  # a delay, never a price: float is fine here
    except ArithmeticError:
        return None  # an HTTP date: ignored, the backoff applies
    if seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER)


class RestClient:
    """One `httpx.AsyncClient` (httpx runs on Trio through anyio) with the retry rule."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.client = client
        self.policy = policy or RetryPolicy()
        self.retries = 0  # counted: every retried request
        self.throttled = 0  # 429 answers

    async def get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        """The first 2xx or 404 response; `Unavailable` when every attempt failed."""
        reason = ""
        for attempt in range(1, self.policy.attempts + 1):
            wait: float | None = None
            try:
                response = await self.client.get(url, params=params)
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                status = response.status_code
                if status < 300 or status == 404:
                    return response
                reason = f"HTTP {status}"
                if status == 429:
                    self.throttled += 1
                    wait = retry_after_seconds(response.headers.get("retry-after"))
                elif status < 500 and status != 425:
                    raise Unavailable(f"GET {url}: HTTP {status}: {response.text[:200]!r}")
            if attempt == self.policy.attempts:
                break
            self.retries += 1
            delay = wait if wait is not None else self.policy.delay(attempt)
            log.warning("GET %s failed (%s); retry %d in %.2f s", url, reason, attempt, delay)
            await trio.sleep(delay)
        raise Unavailable(f"GET {url}: {reason} after {self.policy.attempts} attempts")

    async def get_json(self, url: str, params: dict[str, str] | None = None) -> Any:
        response = await self.get(url, params)
        if response.status_code == 404:
            raise NotFound(f"GET {url}: not found")
        try:
            return decode_json(response.content)
        except ValueError as exc:
            raise Unavailable(f"GET {url}: body is not JSON: {exc}") from None
