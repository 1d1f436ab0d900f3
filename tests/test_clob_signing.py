"""CLOB V2 order signing through the Python API: every vector of
`fixtures/polymarket/clob_v2_signing_vectors.json` (made with py-clob-client-v2 1.2.1) byte for
byte, the errors for bad keys, addresses, token ids and amounts (none showing key material),
and a property test against py-clob-client-v2 itself on random orders."""

from __future__ import annotations

import json
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from gabagool import errors
from gabagool._core import ClobOrderSigner, clob_limit_amounts, clob_market_amounts
from gabagool.venues.polymarket.signing import (
    L2Credentials,
    OrderSigner,
    SignedClobOrder,
    l2_headers,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import OrderDataV2, order_to_json_v2
from py_clob_client_v2.order_utils.model.side import Side
from py_clob_client_v2.signer import Signer

if TYPE_CHECKING:
    from gabagool._core import ClobSide

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures/polymarket/clob_v2_signing_vectors.json").read_text()
)
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
KEY_DIGITS = KEY[2:]
OTHER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # a second well-known test account
SALT = 479249096354
TIMESTAMP_MS = 1780000000000
EXCHANGES = {
    False: "0xE111180000d2663C0091e4f400237545B87B996B",
    True: "0xe2222d279d744050d28e00520010520000310F59",
}
TICKS = {"0.1": 100_000, "0.01": 10_000, "0.001": 1_000, "0.0001": 100}


def micros(value: object) -> int:
    """A vector's decimal (a JSON number such as 7.777) in micro-units, through its text."""
    return int(Decimal(str(value)) * 1_000_000)


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def fixed_salt(salt: int) -> OrderSigner:
    return OrderSigner(KEY, salt=lambda: salt)


# ---- the vectors ---------------------------------------------------------------------------


def test_address_is_the_vectors() -> None:
    assert OrderSigner(KEY).address == VECTORS["address"]
    assert OrderSigner(KEY).funder == VECTORS["address"]


@pytest.mark.parametrize(
    ("name", "neg_risk"), [("exchange_v2", False), ("neg_risk_exchange_v2", True)]
)
def test_vector_order_byte_for_byte(name: str, neg_risk: bool) -> None:
    case = VECTORS[name]
    assert case["verifyingContract"] == EXCHANGES[neg_risk]
    body = case["post_body"]
    order = body["order"]
    signed = fixed_salt(order["salt"]).limit(
        order["tokenId"],
        order["side"],
        520_000,
        10_000_000,
        tick=10_000,
        min_size=5_000_000,
        neg_risk=neg_risk,
        timestamp_ms=int(order["timestamp"]),
    )
    assert (signed.maker_amount, signed.taker_amount) == (5_200_000, 10_000_000)
    assert signed.order_id == case["digest"]
    assert signed.signature == case["signature"]
    assert signed.neg_risk is neg_risk
    assert signed.post_body(body["owner"], body["orderType"]) == compact(body)
    assert signed.order_json() == compact(order)


@pytest.mark.parametrize(
    "case", VECTORS["limit_amounts"], ids=lambda c: f"{c['side']}-{c['price']}"
)
def test_limit_amounts_vectors(case: dict[str, Any]) -> None:
    got = clob_limit_amounts(
        case["side"], micros(case["price"]), micros(case["size"]), micros(case["tick"]), 5_000_000
    )
    assert got == (case["makerAmount"], case["takerAmount"])


@pytest.mark.parametrize(
    "case", VECTORS["market_amounts"], ids=lambda c: f"{c['side']}-{c['price']}"
)
def test_market_amounts_vectors(case: dict[str, Any]) -> None:
    got = clob_market_amounts(
        case["side"], micros(case["price"]), micros(case["amount"]), micros(case["tick"])
    )
    assert got == (case["makerAmount"], case["takerAmount"])


def test_l2_headers_vector() -> None:
    case = VECTORS["hmac"]
    credentials = L2Credentials("key-1", case["secret"], "pass-1")
    headers = l2_headers(
        VECTORS["address"],
        credentials,
        int(case["timestamp"]),
        case["method"],
        case["path"],
        case["body"],
    )
    assert headers == {
        "POLY_ADDRESS": VECTORS["address"],
        "POLY_API_KEY": "key-1",
        "POLY_PASSPHRASE": "pass-1",
        "POLY_TIMESTAMP": case["timestamp"],
        "POLY_SIGNATURE": case["sig"],
    }
    assert case["secret"] not in repr(credentials) and "pass-1" not in repr(credentials)


def test_l1_headers_vector() -> None:
    case = VECTORS["clob_auth_l1"]
    headers = OrderSigner(KEY).l1_headers(case["timestamp"], case["nonce"])
    assert headers == {
        "POLY_ADDRESS": VECTORS["address"],
        "POLY_SIGNATURE": case["sig"],
        "POLY_TIMESTAMP": str(case["timestamp"]),
        "POLY_NONCE": str(case["nonce"]),
    }


# ---- signature types -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", [1, 2])
def test_proxy_and_safe_orders_sign_for_the_funder(kind: int) -> None:
    signer = OrderSigner(KEY, funder=OTHER, signature_type=kind)
    signed = signer.limit(
        "123",
        "SELL",
        450_000,
        6_000_000,
        tick=10_000,
        min_size=5_000_000,
        neg_risk=False,
        timestamp_ms=TIMESTAMP_MS,
    )
    assert (signed.maker, signed.signer, signed.signature_type) == (OTHER, signer.address, kind)
    assert f'"signatureType":{kind},' in signed.order_json()
    assert len(signed.signature) == 2 + 130


def test_deposit_wallet_signer_is_the_wallet() -> None:
    signed = OrderSigner(KEY, funder=OTHER, signature_type=3).limit(
        "123",
        "BUY",
        450_000,
        6_000_000,
        tick=10_000,
        min_size=5_000_000,
        neg_risk=True,
        timestamp_ms=TIMESTAMP_MS,
    )
    assert (signed.maker, signed.signer, signed.signature_type) == (OTHER, OTHER, 3)
    # inner signature, app domain, contents hash, the type string and its 2-byte length
    order_type = VECTORS["ORDER_TYPE_STRING"]
    assert len(signed.signature) == 2 + 2 * (65 + 32 + 32 + len(order_type) + 2)
    assert signed.signature.endswith(order_type.encode().hex() + f"{len(order_type):04x}")


# ---- errors, and no key material anywhere -----------------------------------------------------

BAD_KEYS = [
    "",
    KEY_DIGITS[:-2],  # 31 bytes
    KEY + "00",
    KEY_DIGITS[:-1] + "g",
    "0x" + "00" * 32,  # zero
    "0x" + "ff" * 32,  # above the curve order
    " " + KEY_DIGITS[:40] + " ",
]


@pytest.mark.parametrize("bad", BAD_KEYS, ids=range(len(BAD_KEYS)))
def test_bad_keys_are_refused_without_showing_them(bad: str) -> None:
    with pytest.raises(errors.PrivateKeyError) as caught:
        OrderSigner(bad)
    shown = str(caught.value) + repr(caught.value)
    assert shown.startswith("private key rejected: ")
    for i in range(0, max(len(bad) - 8, 1), 4):
        chunk = bad.strip()[i : i + 8]
        assert len(chunk) < 8 or chunk not in shown


def test_signer_repr_shows_no_key() -> None:
    for signer in (OrderSigner(KEY), OrderSigner(KEY, funder=OTHER, signature_type=2)):
        for text in (repr(signer), str(signer), repr(signer._core)):
            assert KEY_DIGITS[:8] not in text and KEY_DIGITS[-8:] not in text
            assert signer.address in text
    with pytest.raises(TypeError):
        __import__("pickle").dumps(OrderSigner(KEY)._core)


@pytest.mark.parametrize(
    "funder",
    ["f39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x1234", OTHER.replace("0x7", "0x8"), KEY],
)
def test_bad_funder_is_an_address_error(funder: str) -> None:
    with pytest.raises(errors.AddressError, match="^funder address rejected: ") as caught:
        OrderSigner(KEY, funder=funder, signature_type=1)
    assert KEY_DIGITS[:8] not in str(caught.value)


def test_funder_required_and_signature_type_known() -> None:
    with pytest.raises(errors.AddressError, match="required for signature types 1, 2 and 3"):
        OrderSigner(KEY, signature_type=3)
    with pytest.raises(errors.SigningError, match="signature type 4 is not"):
        OrderSigner(KEY, signature_type=4)


@pytest.mark.parametrize("token", ["", "0", "0x12", "12a", "-5", "9" * 79])
def test_bad_token_id_is_a_token_id_error(token: str) -> None:
    with pytest.raises(errors.TokenIdError, match="^token id rejected: "):
        fixed_salt(1).limit(
            token,
            "BUY",
            500_000,
            5_000_000,
            tick=10_000,
            min_size=5_000_000,
            neg_risk=False,
            timestamp_ms=TIMESTAMP_MS,
        )


@pytest.mark.parametrize(
    ("price", "size", "tick", "message"),
    [
        (523_000, 10_000_000, 10_000, "price 0.523 is not on the tick 0.01"),
        (5_000, 10_000_000, 10_000, r"price 0.005 is outside \[0.01, 0.99\]"),
        (950_000, 10_000_000, 100_000, r"price 0.95 is outside \[0.1, 0.9\]"),
        (500_000, 4_999_999, 10_000, "size 4.99 .* below the market's minimum 5"),
        (500_000, 10_000_000, 5_000, "tick 0.005 is not one of"),
    ],
)
def test_amounts_the_exchange_refuses(price: int, size: int, tick: int, message: str) -> None:
    with pytest.raises(errors.OrderAmountError, match=message):
        fixed_salt(1).limit(
            "7",
            "BUY",
            price,
            size,
            tick=tick,
            min_size=5_000_000,
            neg_risk=False,
            timestamp_ms=TIMESTAMP_MS,
        )


def test_marketable_minimum_and_body_options() -> None:
    signer = fixed_salt(1)
    with pytest.raises(errors.OrderAmountError, match=r"\$0.99 is below the \$1 minimum"):
        signer.market("7", "BUY", 500_000, 999_999, tick=10_000, neg_risk=False, timestamp_ms=1)
    fok = signer.market("7", "BUY", 500_000, 2_000_000, tick=10_000, neg_risk=False, timestamp_ms=1)
    assert (fok.maker_amount, fok.taker_amount) == (2_000_000, 4_000_000)
    with pytest.raises(errors.SigningError, match="post-only is for GTC and GTD orders only"):
        fok.post_body("owner", "FOK", post_only=True)
    with pytest.raises(errors.SigningError, match="not one of GTC"):
        fok.post_body("owner", "IOC")  # type: ignore[arg-type]
    with pytest.raises(errors.SigningError, match='side "buy" is not'):
        signer.market("7", "buy", 500_000, 2_000_000, tick=10_000, neg_risk=False, timestamp_ms=1)  # type: ignore[arg-type]
    with pytest.raises(errors.SigningError, match="salt 9007199254740992 is above"):
        OrderSigner(KEY, salt=lambda: 2**53).limit(
            "7", "BUY", 500_000, 5_000_000, tick=10_000, min_size=0, neg_risk=False, timestamp_ms=1
        )


def test_sizes_truncate_exactly_where_float_rounding_would_not() -> None:
    # 8.29 shares: py-clob-client-v2 floors 8.29 * 100 = 828.999.. in floats, to 8.28 shares.
    assert clob_limit_amounts("SELL", 500_000, 8_290_000, 10_000, 5_000_000) == (
        8_290_000,
        4_145_000,
    )
    assert clob_limit_amounts("SELL", 500_000, 8_299_999, 10_000, 5_000_000) == (
        8_290_000,
        4_145_000,
    )


# ---- property test: the same bytes as py-clob-client-v2 --------------------------------------


def exact_limit(side: str, price: int, size: int) -> tuple[int, int]:
    """The POLYMARKET.md rule, independently, in Decimal: size cut to 2 decimals, notional exact."""
    shares = (Decimal(size) / 1_000_000).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    notional = shares * Decimal(price) / 1_000_000
    pair = (int(notional * 1_000_000), int(shares * 1_000_000))
    return pair if side == "BUY" else (pair[1], pair[0])


def exact_market(side: str, price: int, amount: int) -> tuple[int, int]:
    """Marketable: a BUY's dollars cut to 2 decimals buy shares cut to 4; a SELL as a limit."""
    if side == "SELL":
        return exact_limit(side, price, amount)
    dollars = (Decimal(amount) / 1_000_000).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    shares = (dollars * 1_000_000 / price).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
    return int(dollars * 1_000_000), int(shares * 1_000_000)


@st.composite
def orders(draw: st.DrawFn) -> dict[str, Any]:
    tick = draw(st.sampled_from(sorted(TICKS.values())))
    return {
        "tick": tick,
        "price": tick * draw(st.integers(1, 1_000_000 // tick - 1)),
        "size": draw(st.integers(5_000_000, 10**12)),
        "marketable": draw(st.booleans()),
        "side": draw(st.sampled_from(["BUY", "SELL"])),
        "neg_risk": draw(st.booleans()),
        "salt": draw(st.integers(0, 2**53 - 1)),
        "timestamp_ms": draw(st.integers(1_600_000_000_000, 2_500_000_000_000)),
        "kind": draw(st.sampled_from([0, 1, 2, 3])),
        "token_id": str(draw(st.integers(1, 2**256 - 1))),
        "owner": draw(st.text(max_size=12)),
        "order_type": draw(st.sampled_from(["GTC", "FOK", "FAK"])),
    }


@settings(max_examples=150)
@given(orders())
def test_signed_orders_match_py_clob_client_v2(case: dict[str, Any]) -> None:
    side: ClobSide = case["side"]
    funder = None if case["kind"] == 0 else OTHER
    signer = OrderSigner(KEY, funder=funder, signature_type=case["kind"], salt=lambda: case["salt"])
    if case["marketable"]:

        def sign_market() -> SignedClobOrder:
            return signer.market(
                case["token_id"],
                side,
                case["price"],
                case["size"],
                tick=case["tick"],
                neg_risk=case["neg_risk"],
                timestamp_ms=case["timestamp_ms"],
            )

        want = exact_market(side, case["price"], case["size"])
        if min(want) < 1_000_000:  # a marketable sell worth under $1
            with pytest.raises(errors.OrderAmountError, match="below the \\$1 minimum"):
                sign_market()
            return
        ours = sign_market()
    else:
        ours = signer.limit(
            case["token_id"],
            side,
            case["price"],
            case["size"],
            tick=case["tick"],
            min_size=0,
            neg_risk=case["neg_risk"],
            timestamp_ms=case["timestamp_ms"],
        )
        want = exact_limit(side, case["price"], case["size"])
    assert (ours.maker_amount, ours.taker_amount) == want

    builder = ExchangeOrderBuilderV2(
        EXCHANGES[case["neg_risk"]], 137, Signer(KEY, 137), generate_salt=lambda: case["salt"]
    )
    data = OrderDataV2(
        maker=signer.funder,
        signer=OTHER if case["kind"] == 3 else signer.address,
        tokenId=case["token_id"],
        makerAmount=str(ours.maker_amount),
        takerAmount=str(ours.taker_amount),
        side=Side.BUY if side == "BUY" else Side.SELL,
        signatureType=case["kind"],
        timestamp=str(case["timestamp_ms"]),
    )
    theirs = builder.build_signed_order(data)
    assert ours.signature == theirs.signature
    assert ours.order_id == builder.build_order_hash(builder.build_order_typed_data(theirs))
    body = order_to_json_v2(theirs, case["owner"], case["order_type"])
    assert ours.post_body(case["owner"], case["order_type"]) == compact(body)


def test_core_signer_is_the_face_signer() -> None:
    core = ClobOrderSigner(KEY)
    assert core.address == OrderSigner(KEY).address
    assert repr(core).startswith("ClobOrderSigner(address=0xf39F")
