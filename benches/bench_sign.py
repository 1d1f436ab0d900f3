"""Order signing: one CLOB V2 order signed from Python through the Rust core, against the
reference (py-clob-client-v2 1.2.1) timed in the same run and as recorded with the vectors."""

from __future__ import annotations

import functools
import json
import timeit
from pathlib import Path

from gabagool.venues.polymarket.signing import (
    L2Credentials,
    OrderSigner,
    SignedClobOrder,
    l2_headers,
)
from result_row import result_row

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests/fixtures/polymarket/clob_v2_signing_vectors.json"
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
EXCHANGE = "0xE111180000d2663C0091e4f400237545B87B996B"
TARGET_US = 200.0


def per_call_us(stmt, number: int) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e6


row = functools.partial(result_row, "sign")


def reference_sign_ms() -> float | None:
    """py-clob-client-v2 signing the same order, or None when it is not installed."""
    try:
        from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
        from py_clob_client_v2.order_utils.model.order_data_v2 import OrderDataV2
        from py_clob_client_v2.order_utils.model.side import Side
        from py_clob_client_v2.signer import Signer
    except ImportError:
        return None
    signer = Signer(KEY, 137)
    builder = ExchangeOrderBuilderV2(EXCHANGE, 137, signer, generate_salt=lambda: 1)
    data = OrderDataV2(
        maker=signer.address(),
        tokenId=TOKEN,
        makerAmount="5200000",
        takerAmount="10000000",
        side=Side.BUY,
        timestamp="1780000000000",
    )
    return per_call_us(lambda: builder.build_signed_order(data), 20) / 1000


def run() -> list[dict]:
    recorded_ms = json.loads(VECTORS.read_text())["py_sign_ms_per_order"]
    signer = OrderSigner(KEY)
    credentials = L2Credentials("00000000-0000-0000-0000-000000000000", "c2VjcmV0", "pass")

    def sign() -> SignedClobOrder:
        return signer.limit(
            TOKEN,
            "BUY",
            520_000,
            10_000_000,
            tick=10_000,
            min_size=5_000_000,
            neg_risk=False,
            timestamp_ms=1_780_000_000_000,
        )

    def sign_and_post() -> None:
        signed = sign()
        body = signed.post_body(credentials.api_key, "GTC")
        l2_headers(signer.address, credentials, 1_780_000_000, "POST", "/order", body)

    sign_us = per_call_us(sign, 2000)
    full_us = per_call_us(sign_and_post, 2000)
    before = f"{recorded_ms} ms (py-clob-client-v2, vectors)"
    rows = [
        row(
            "sign one order from Python (Rust core)",
            sign_us,
            "us",
            f"<= {TARGET_US:.0f} us",
            sign_us <= TARGET_US,
            before,
        ),
        row(
            "sign + POST body + L2 headers from Python",
            full_us,
            "us",
            f"<= {TARGET_US:.0f} us",
            full_us <= TARGET_US,
            before,
        ),
    ]
    reference_ms = reference_sign_ms()
    if reference_ms is not None:
        speedup = reference_ms * 1000 / sign_us
        rows.append(
            row("py-clob-client-v2 signing the same order", reference_ms, "ms", "reference", True)
        )
        rows.append(row("speed-up over py-clob-client-v2", speedup, "x", ">= 25x", speedup >= 25))
    return rows
