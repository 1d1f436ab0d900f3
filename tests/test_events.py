"""The engine's events as log lines: good news is a line, trouble is a warning."""

from __future__ import annotations

import logging

import pytest
from gabagool.engine.events import LogEvents


@pytest.mark.parametrize(
    ("action", "level"),
    [
        ("reference_fresh", logging.INFO),
        ("feed_resumed", logging.INFO),
        ("max_delta_cleared", logging.INFO),
        ("resolution_check", logging.INFO),
        ("reference_stale", logging.WARNING),
        ("feed_stale", logging.WARNING),
        ("max_delta", logging.WARNING),
        ("halt", logging.WARNING),
    ],
)
def test_a_risk_action_logs_at_the_level_its_news_deserves(
    caplog: pytest.LogCaptureFixture, action: str, level: int
) -> None:
    caplog.set_level(logging.DEBUG)
    LogEvents().risk_action("0xm", action, "detail")
    (record,) = [r for r in caplog.records if r.getMessage().startswith(f"risk {action}:")]
    assert record.levelno == level
