"""The exceptions the core raises: one small hierarchy, each carrying the reason as text.

They are defined here, in Python, and imported by the Rust bindings, so `except` clauses
and pickling work as for any Python exception. Each also subclasses `ValueError`, since
every one of them is raised for a bad value.
"""


class CoreError(Exception):
    """Base of every error the core raises."""


class ParseError(CoreError, ValueError):
    """A decimal string is not an exact price or size (`price "1.5" out of range (0, 1)`)."""


class BookError(CoreError, ValueError):
    """A book update that cannot be applied (off-grid price, no snapshot yet, bad tick)."""


class FrameError(CoreError, ValueError):
    """A market-channel frame that could not be read at all."""


class PositionError(CoreError, ValueError):
    """A fill that is not valid (zero size, price outside (0, 1))."""


class ParamsError(CoreError, ValueError):
    """Strategy parameters or a fee schedule out of their valid ranges."""


class SigningError(CoreError, ValueError):
    """An order or request that cannot be signed (bad side, signature type, salt, API secret,
    order type options). Never carries key material."""


class PrivateKeyError(SigningError):
    """The private key is not 32 bytes of hex or not a valid secp256k1 key. Says which, never
    what the key was."""


class AddressError(SigningError):
    """An address (the funder) is not `0x` + 40 hex digits with a valid EIP-55 checksum."""


class TokenIdError(SigningError):
    """A token id is not a decimal uint256 above zero."""


class OrderAmountError(SigningError):
    """Amounts the exchange refuses: price off the tick or outside [tick, 1 - tick], size
    below the market's minimum, a marketable order under $1, an unknown tick."""
