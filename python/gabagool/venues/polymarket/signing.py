"""Signing CLOB V2 orders and REST requests, in the Rust core.

`OrderSigner` holds a private key (read once into the core, never kept as text, never shown)
with the funder wallet and the signature type, and turns exact micro-unit prices and sizes
into signed orders: the exchange's order id (known before the POST returns), the signature
and the `POST /order` body. `L2Credentials` and `l2_headers` authenticate every other request.

Salts are random (at most 2^53 - 1, they travel as JSON numbers); timestamps are the caller's
wall-clock milliseconds, passed in, so tests and replays pin them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gabagool._core import ClobOrderSigner, SignedClobOrder, clob_l2_signature

if TYPE_CHECKING:
    from gabagool._core import ClobSide

__all__ = ["MAX_SALT", "L2Credentials", "OrderSigner", "SignedClobOrder", "l2_headers"]

MAX_SALT = 2**53 - 1
SIGNATURE_TYPES = {0: "EOA", 1: "proxy", 2: "Safe", 3: "deposit wallet"}


def random_salt() -> int:
    return secrets.randbelow(MAX_SALT + 1)


class OrderSigner:
    """Signs orders for one wallet. `funder` is the wallet holding pUSD and tokens (the
    order's maker): the key's own address for an EOA (type 0, the default), required for
    types 1 (proxy), 2 (Safe) and 3 (deposit wallet)."""

    __slots__ = ("_core", "_salt")

    def __init__(
        self,
        private_key: str,
        *,
        funder: str | None = None,
        signature_type: int = 0,
        salt: Callable[[], int] = random_salt,
    ) -> None:
        self._core = ClobOrderSigner(private_key, funder, signature_type)
        self._salt = salt

    @property
    def address(self) -> str:
        """The key's address (EIP-55)."""
        return self._core.address

    @property
    def funder(self) -> str:
        return self._core.funder

    @property
    def signature_type(self) -> int:
        return self._core.signature_type

    def limit(
        self,
        token_id: str,
        side: ClobSide,
        price: int,
        size: int,
        *,
        tick: int,
        min_size: int,
        neg_risk: bool,
        timestamp_ms: int,
        expiration: int = 0,
    ) -> SignedClobOrder:
        """A resting (GTC, or GTD with `expiration` unix seconds) order of `size` micro-shares
        at `price` micro-dollars. `neg_risk` is the market's flag: it picks the exchange that
        verifies the signature. OrderAmountError for what the exchange would refuse."""
        return self._core.sign_limit(
            token_id,
            side,
            price,
            size,
            tick,
            min_size,
            neg_risk,
            self._salt(),
            timestamp_ms,
            expiration,
        )

    def market(
        self,
        token_id: str,
        side: ClobSide,
        price: int,
        amount: int,
        *,
        tick: int,
        neg_risk: bool,
        timestamp_ms: int,
    ) -> SignedClobOrder:
        """A marketable (FOK/FAK) order at worst price `price`: a BUY spends `amount`
        micro-dollars, a SELL sells `amount` micro-shares."""
        return self._core.sign_market(
            token_id, side, price, amount, tick, neg_risk, self._salt(), timestamp_ms
        )

    def l1_headers(self, timestamp: int, nonce: int = 0) -> dict[str, str]:
        """Headers to create or derive API credentials (`POST /auth/api-key`,
        `GET /auth/derive-api-key`): `timestamp` in unix seconds."""
        return {
            "POLY_ADDRESS": self._core.address,
            "POLY_SIGNATURE": self._core.clob_auth_signature(timestamp, nonce),
            "POLY_TIMESTAMP": str(timestamp),
            "POLY_NONCE": str(nonce),
        }

    def __repr__(self) -> str:
        kind = SIGNATURE_TYPES.get(self.signature_type, "?")
        return f"OrderSigner(address={self.address}, funder={self.funder}, signature_type={kind})"


@dataclass(frozen=True, slots=True)
class L2Credentials:
    """The API key triple from L1 auth. Secret and passphrase are kept out of repr()."""

    api_key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)


def l2_headers(
    address: str, credentials: L2Credentials, timestamp: int, method: str, path: str, body: str = ""
) -> dict[str, str]:
    """Headers of an authenticated request: `path` without its query string, `body` the exact
    text sent (a signed order's `post_body(...)`), `timestamp` unix seconds."""
    stamp = str(timestamp)
    return {
        "POLY_ADDRESS": address,
        "POLY_API_KEY": credentials.api_key,
        "POLY_PASSPHRASE": credentials.passphrase,
        "POLY_TIMESTAMP": stamp,
        "POLY_SIGNATURE": clob_l2_signature(credentials.secret, stamp, method, path, body),
    }
