//! The V2 order as the exchange hashes it (EIP-712), and the signer that stamps it.

use super::abi::{self, hash_words, Word};
use super::address::{keccak256, Address};
use super::amounts::Amounts;
use super::error::SignError;
use super::key::PrivateKey;

pub const POLYGON_CHAIN_ID: u64 = 137;

pub const ORDER_TYPE_STRING: &str = "Order(uint256 salt,address maker,address signer,uint256 tokenId,\
uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,\
bytes32 metadata,bytes32 builder)";
const DOMAIN_TYPE_STRING: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
const EXCHANGE_NAME: &str = "Polymarket CTF Exchange";
const EXCHANGE_VERSION: &str = "2";
// ERC-7739 (Solady) nested typed data for deposit wallets (type 3): the order is the contents.
const TYPED_DATA_SIGN_PREFIX: &str = "TypedDataSign(Order contents,string name,string version,\
uint256 chainId,address verifyingContract,bytes32 salt)";
const DEPOSIT_WALLET_NAME: &str = "DepositWallet";
const DEPOSIT_WALLET_VERSION: &str = "1";

/// The largest salt a JSON number carries exactly (2^53 - 1).
pub const MAX_SALT: u64 = (1 << 53) - 1;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub const fn code(self) -> u8 {
        match self {
            Side::Buy => 0,
            Side::Sell => 1,
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

/// Who signs for the maker: the key itself (EOA), a Magic proxy, a Safe, or a deposit wallet
/// that validates ERC-1271 signatures.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SignatureType {
    Eoa,
    PolyProxy,
    PolyGnosisSafe,
    Poly1271,
}

impl SignatureType {
    pub fn from_code(value: u8) -> Result<SignatureType, SignError> {
        match value {
            0 => Ok(SignatureType::Eoa),
            1 => Ok(SignatureType::PolyProxy),
            2 => Ok(SignatureType::PolyGnosisSafe),
            3 => Ok(SignatureType::Poly1271),
            value => Err(SignError::SignatureType { value }),
        }
    }

    pub const fn code(self) -> u8 {
        match self {
            SignatureType::Eoa => 0,
            SignatureType::PolyProxy => 1,
            SignatureType::PolyGnosisSafe => 2,
            SignatureType::Poly1271 => 3,
        }
    }
}

/// The two V2 exchanges: a market's neg-risk flag says which one verifies its orders.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Exchange {
    Ctf,
    NegRisk,
}

impl Exchange {
    pub const fn verifying_contract(self) -> Address {
        Address::from_bytes(match self {
            // 0xE111180000d2663C0091e4f400237545B87B996B
            Exchange::Ctf => [
                0xe1, 0x11, 0x18, 0x00, 0x00, 0xd2, 0x66, 0x3c, 0x00, 0x91, 0xe4, 0xf4, 0x00, 0x23, 0x75,
                0x45, 0xb8, 0x7b, 0x99, 0x6b,
            ],
            // 0xe2222d279d744050d28e00520010520000310F59
            Exchange::NegRisk => [
                0xe2, 0x22, 0x2d, 0x27, 0x9d, 0x74, 0x40, 0x50, 0xd2, 0x8e, 0x00, 0x52, 0x00, 0x10, 0x52,
                0x00, 0x00, 0x31, 0x0f, 0x59,
            ],
        })
    }
}

pub fn domain_separator(exchange: Exchange, chain_id: u64) -> [u8; 32] {
    hash_words(&[
        keccak256(DOMAIN_TYPE_STRING.as_bytes()),
        keccak256(EXCHANGE_NAME.as_bytes()),
        keccak256(EXCHANGE_VERSION.as_bytes()),
        abi::uint(chain_id),
        abi::address(exchange.verifying_contract().bytes()),
    ])
}

/// An outcome token id: a uint256, kept both as the 32-byte word and as its decimal text
/// (which is how the JSON body carries it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenId {
    word: Word,
    text: String,
}

impl TokenId {
    pub fn parse(text: &str) -> Result<TokenId, SignError> {
        let reject = |reason: String| SignError::TokenId { reason };
        if text.is_empty() || !text.bytes().all(|c| c.is_ascii_digit()) {
            let shown: String = text.chars().take(90).collect();
            return Err(reject(format!("{shown:?} is not a decimal number")));
        }
        if text.len() > 1 && text.starts_with('0') {
            return Err(reject(format!("{text:?} has leading zeros")));
        }
        let mut word = [0u8; 32];
        for digit in text.bytes() {
            // word = word * 10 + digit, big-endian, with the carry leaving the top byte an overflow.
            let mut carry = u16::from(digit - b'0');
            for byte in word.iter_mut().rev() {
                let value = u16::from(*byte) * 10 + carry;
                *byte = (value & 0xff) as u8;
                carry = value >> 8;
            }
            if carry != 0 {
                let shown: String = text.chars().take(90).collect();
                return Err(reject(format!("{shown:?} does not fit in 256 bits")));
            }
        }
        if word == [0u8; 32] {
            return Err(reject("token id 0 is no outcome token".to_string()));
        }
        Ok(TokenId { word, text: text.to_string() })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The 11 signed fields, plus `expiration`, which travels unsigned in the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub salt: u64,
    pub maker: Address,
    pub signer: Address,
    pub token_id: TokenId,
    pub maker_amount: u64,
    pub taker_amount: u64,
    pub side: Side,
    pub signature_type: SignatureType,
    pub timestamp_ms: u64,
    pub metadata: [u8; 32],
    pub builder: [u8; 32],
    pub expiration: u64,
}

impl Order {
    pub fn struct_hash(&self) -> [u8; 32] {
        hash_words(&[
            keccak256(ORDER_TYPE_STRING.as_bytes()),
            abi::uint(self.salt),
            abi::address(self.maker.bytes()),
            abi::address(self.signer.bytes()),
            self.token_id.word,
            abi::uint(self.maker_amount),
            abi::uint(self.taker_amount),
            abi::uint(u64::from(self.side.code())),
            abi::uint(u64::from(self.signature_type.code())),
            abi::uint(self.timestamp_ms),
            self.metadata,
            self.builder,
        ])
    }

    /// The EIP-712 digest: what the key signs, and the exchange's id for the order.
    pub fn digest(&self, domain_separator: &[u8; 32]) -> [u8; 32] {
        eip712_digest(domain_separator, &self.struct_hash())
    }
}

pub(crate) fn eip712_digest(domain_separator: &[u8; 32], struct_hash: &[u8; 32]) -> [u8; 32] {
    let mut preimage = [0u8; 66];
    preimage[..2].copy_from_slice(b"\x19\x01");
    preimage[2..34].copy_from_slice(domain_separator);
    preimage[34..].copy_from_slice(struct_hash);
    keccak256(&preimage)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedOrder {
    pub order: Order,
    /// 65 bytes r||s||v, or for deposit wallets the ERC-7739 wrapped form.
    pub signature: Vec<u8>,
    /// The exchange's order id (the EIP-712 digest).
    pub order_id: [u8; 32],
}

/// A key bound to its funder and signature type; the domain separators are hashed once.
#[derive(Debug)]
pub struct OrderSigner {
    key: PrivateKey,
    funder: Address,
    signature_type: SignatureType,
    chain_id: u64,
    domains: [[u8; 32]; 2],
}

impl OrderSigner {
    /// `funder` holds the pUSD and tokens (the `maker`); for an EOA it defaults to the key's
    /// own address, the other types need it.
    pub fn new(
        key: PrivateKey,
        funder: Option<Address>,
        signature_type: SignatureType,
        chain_id: u64,
    ) -> Result<OrderSigner, SignError> {
        let funder = match (funder, signature_type) {
            (Some(funder), _) => funder,
            (None, SignatureType::Eoa) => key.address(),
            (None, _) => {
                return Err(SignError::Address {
                    what: "funder",
                    reason: "required for signature types 1, 2 and 3".to_string(),
                })
            }
        };
        let domains =
            [domain_separator(Exchange::Ctf, chain_id), domain_separator(Exchange::NegRisk, chain_id)];
        Ok(OrderSigner { key, funder, signature_type, chain_id, domains })
    }

    pub fn address(&self) -> Address {
        self.key.address()
    }

    pub fn funder(&self) -> Address {
        self.funder
    }

    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    pub fn domain(&self, exchange: Exchange) -> &[u8; 32] {
        &self.domains[exchange as usize]
    }

    /// The order's `signer` field: the key (types 0-2) or the deposit wallet itself (type 3).
    pub fn order_signer(&self) -> Address {
        match self.signature_type {
            SignatureType::Poly1271 => self.funder,
            _ => self.key.address(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        &self,
        exchange: Exchange,
        token_id: &TokenId,
        side: Side,
        amounts: Amounts,
        salt: u64,
        timestamp_ms: u64,
        expiration: u64,
    ) -> Result<SignedOrder, SignError> {
        if salt > MAX_SALT {
            return Err(SignError::Salt { salt });
        }
        let order = Order {
            salt,
            maker: self.funder,
            signer: self.order_signer(),
            token_id: token_id.clone(),
            maker_amount: amounts.maker,
            taker_amount: amounts.taker,
            side,
            signature_type: self.signature_type,
            timestamp_ms,
            metadata: [0u8; 32],
            builder: [0u8; 32],
            expiration,
        };
        Ok(self.sign_order(exchange, order))
    }

    /// Signs a fully built order (its `maker`, `signer` and type are taken as given).
    pub fn sign_order(&self, exchange: Exchange, order: Order) -> SignedOrder {
        let domain = self.domain(exchange);
        let struct_hash = order.struct_hash();
        let order_id = eip712_digest(domain, &struct_hash);
        let signature = match order.signature_type {
            SignatureType::Poly1271 => self.wrapped_signature(domain, &struct_hash, &order.signer),
            _ => self.key.sign_digest(&order_id).to_vec(),
        };
        SignedOrder { order, signature, order_id }
    }

    /// ERC-7739: the key signs the order re-hashed under the deposit wallet's own domain, and
    /// the wallet gets everything it needs to rebuild that hash appended after the signature.
    fn wrapped_signature(&self, app_domain: &[u8; 32], contents: &[u8; 32], wallet: &Address) -> Vec<u8> {
        let mut type_string = String::with_capacity(TYPED_DATA_SIGN_PREFIX.len() + ORDER_TYPE_STRING.len());
        type_string.push_str(TYPED_DATA_SIGN_PREFIX);
        type_string.push_str(ORDER_TYPE_STRING);
        let sign_struct = hash_words(&[
            keccak256(type_string.as_bytes()),
            *contents,
            keccak256(DEPOSIT_WALLET_NAME.as_bytes()),
            keccak256(DEPOSIT_WALLET_VERSION.as_bytes()),
            abi::uint(self.chain_id),
            abi::address(wallet.bytes()),
            [0u8; 32],
        ]);
        let inner = self.key.sign_digest(&eip712_digest(app_domain, &sign_struct));
        let mut out = Vec::with_capacity(65 + 64 + ORDER_TYPE_STRING.len() + 2);
        out.extend_from_slice(&inner);
        out.extend_from_slice(app_domain);
        out.extend_from_slice(contents);
        out.extend_from_slice(ORDER_TYPE_STRING.as_bytes());
        out.extend_from_slice(&(ORDER_TYPE_STRING.len() as u16).to_be_bytes());
        out
    }
}
