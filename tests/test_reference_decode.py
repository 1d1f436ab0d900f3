"""The reference readers' JSON decoding (msgspec first, `json` for what msgspec refuses)
reads every input as `json.loads(text, parse_float=str)` does, malformed ones included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gabagool.venues.polymarket.reference_frames import decode

INPUTS: list[str | bytes] = [
    '{"v":1,"channel":"price.crypto","seq":7,"ts":1767225601234,"payload":{"symbol":"btcusd",'
    '"timestamp":1767225601000,"value":95123.5,"full_accuracy_value":"95123.50000000"}}',
    b'{"a":1.50,"b":-0,"c":1E400,"d":123456789012345678901234567890,"a":2,"e":[1e5,-2.0]}',
    '{"x":NaN,"y":Infinity}',  # json reads these, msgspec does not
    b"\xef\xbb\xbf{}",  # a UTF-8 BOM: json's bytes path strips it
    '{"\\ud800":1}',  # a lone surrogate
    '{"a":"\u00e9","b":"\\u00e9"}',
    b' {"a":1} ',
    "PONG",
    '{"a":"x\ny"}',
    b'{"a":"\xff"}',
    "\ufeff{}",
    '{"a":01}',
    '{"a":1}x',
    "",
]


def _outcome(read: Any, text: str | bytes) -> tuple[str, object]:
    try:
        return "value", read(text)
    except ValueError:
        return "error", None


@pytest.mark.parametrize("text", INPUTS)
def test_decode_reads_what_json_reads(text: str | bytes) -> None:
    expected = _outcome(lambda t: json.loads(t, parse_float=str), text)
    got = _outcome(decode, text)
    assert repr(got) == repr(expected)  # repr: NaN != NaN, its repr is the same
