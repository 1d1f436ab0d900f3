//! Every value of the py-clob-client-v2 vectors (tests/fixtures/polymarket), byte for byte,
//! and the errors for what the exchange would refuse.

use super::abi::hex0x;
use super::*;
use serde_json::Value;

const TEST_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SALT: u64 = 479_249_096_354;
const TIMESTAMP_MS: u64 = 1_780_000_000_000;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/polymarket/clob_v2_signing_vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the fixture is in tests/fixtures")).unwrap()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("{value} is not a string"))
}

/// A decimal from the vectors (`10`, `0.52`, `7.777`) in micro-units, through its text.
fn micros(value: &Value) -> i64 {
    crate::fixed::parse_micros(value.to_string().trim_matches('"').as_bytes(), "vector").unwrap()
}

fn side(value: &Value) -> Side {
    match text(value) {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        other => panic!("side {other}"),
    }
}

fn signer(signature_type: SignatureType, funder: Option<&str>) -> OrderSigner {
    let funder = funder.map(|text| Address::parse(text, "funder").unwrap());
    OrderSigner::new(PrivateKey::from_hex(TEST_KEY).unwrap(), funder, signature_type, POLYGON_CHAIN_ID)
        .unwrap()
}

#[test]
fn key_address_and_type_hashes_match_the_vectors() {
    let v = vectors();
    let key = PrivateKey::from_hex(TEST_KEY).unwrap();
    assert_eq!(key.address().to_string(), text(&v["address"]));
    assert_eq!(ORDER_TYPE_STRING, text(&v["ORDER_TYPE_STRING"]));
    assert_eq!(hex0x(&keccak256(ORDER_TYPE_STRING.as_bytes())), text(&v["ORDER_TYPE_HASH"]));
    let domain_type = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
    assert_eq!(hex0x(&keccak256(domain_type.as_bytes())), text(&v["DOMAIN_TYPE_HASH"]));
}

#[test]
fn both_exchanges_sign_the_vector_order_byte_for_byte() {
    let v = vectors();
    let signer = signer(SignatureType::Eoa, None);
    for (name, exchange) in [("exchange_v2", Exchange::Ctf), ("neg_risk_exchange_v2", Exchange::NegRisk)] {
        let case = &v[name];
        assert_eq!(exchange.verifying_contract().to_string(), text(&case["verifyingContract"]));
        assert_eq!(hex0x(&domain_separator(exchange, POLYGON_CHAIN_ID)), text(&case["domainSeparator"]));
        let body = &case["post_body"];
        let order = &body["order"];
        let token = TokenId::parse(text(&order["tokenId"])).unwrap();
        let amounts = Amounts {
            maker: text(&order["makerAmount"]).parse().unwrap(),
            taker: text(&order["takerAmount"]).parse().unwrap(),
        };
        let salt = order["salt"].as_u64().unwrap();
        assert_eq!(salt, SALT);
        let timestamp: u64 = text(&order["timestamp"]).parse().unwrap();
        assert_eq!(timestamp, TIMESTAMP_MS);
        let signed =
            signer.sign(exchange, &token, side(&order["side"]), amounts, salt, timestamp, 0).unwrap();
        assert_eq!(hex0x(&signed.order.struct_hash()), text(&case["structHash"]), "{name}");
        assert_eq!(hex0x(&signed.order_id), text(&case["digest"]), "{name}");
        assert_eq!(hex0x(&signed.signature), text(&case["signature"]), "{name}");
        let expected = serde_json::to_string(body).unwrap();
        let owner = text(&body["owner"]);
        let ours = post_body(&signed, owner, OrderType::Gtc, false, false).unwrap();
        assert_eq!(ours, expected, "{name}");
        assert_eq!(order_json(&signed), serde_json::to_string(order).unwrap());
    }
}

#[test]
fn limit_amounts_match_every_vector() {
    let v = vectors();
    let cases = v["limit_amounts"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let tick = Tick::from_micros(micros(&case["tick"])).unwrap();
        let got = limit_amounts(
            side(&case["side"]),
            micros(&case["price"]),
            micros(&case["size"]),
            tick,
            5_000_000,
        )
        .unwrap();
        assert_eq!(got, expected_amounts(case), "{case}");
    }
}

fn expected_amounts(case: &Value) -> Amounts {
    Amounts {
        maker: case["makerAmount"].as_u64().unwrap(),
        taker: case["takerAmount"].as_u64().unwrap(),
    }
}

#[test]
fn market_amounts_match_every_vector() {
    let v = vectors();
    let cases = v["market_amounts"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let tick = Tick::from_micros(micros(&case["tick"])).unwrap();
        let got = market_amounts(side(&case["side"]), micros(&case["price"]), micros(&case["amount"]), tick)
            .unwrap();
        assert_eq!(got, expected_amounts(case), "{case}");
    }
}

#[test]
fn l2_hmac_matches_the_vector() {
    let v = vectors();
    let h = &v["hmac"];
    let sig = l2_signature(
        text(&h["secret"]),
        text(&h["timestamp"]),
        text(&h["method"]),
        text(&h["path"]),
        text(&h["body"]),
    )
    .unwrap();
    assert_eq!(sig, text(&h["sig"]));
    assert_eq!(l2_signature("not base64!", "1", "GET", "/", ""), Err(SignError::ApiSecret));
}

#[test]
fn l1_clob_auth_matches_the_vector() {
    let v = vectors();
    let case = &v["clob_auth_l1"];
    let key = PrivateKey::from_hex(TEST_KEY).unwrap();
    let sig = clob_auth_signature(
        &key,
        POLYGON_CHAIN_ID,
        case["timestamp"].as_u64().unwrap(),
        case["nonce"].as_u64().unwrap(),
    );
    assert_eq!(hex0x(&sig), text(&case["sig"]));
}

#[test]
fn signature_types_1_and_2_sign_for_the_funder() {
    let funder = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    let token = TokenId::parse("123").unwrap();
    let amounts = Amounts { maker: 5_200_000, taker: 10_000_000 };
    for kind in [SignatureType::PolyProxy, SignatureType::PolyGnosisSafe] {
        let signer = signer(kind, Some(funder));
        let signed = signer.sign(Exchange::Ctf, &token, Side::Buy, amounts, 1, 2, 0).unwrap();
        assert_eq!(signed.order.maker.to_string(), funder);
        assert_eq!(signed.order.signer, signer.address());
        assert_eq!(signed.order.signature_type, kind);
        assert_eq!(signed.signature.len(), 65);
        let body = post_body(&signed, "k", OrderType::Gtc, true, false).unwrap();
        assert!(body.contains(&format!("\"signatureType\":{}", kind.code())), "{body}");
    }
    let missing =
        OrderSigner::new(PrivateKey::from_hex(TEST_KEY).unwrap(), None, SignatureType::PolyProxy, 137);
    assert!(matches!(missing, Err(SignError::Address { what: "funder", .. })));
}

#[test]
fn deposit_wallet_orders_carry_the_wrapped_signature() {
    let wallet = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    let signer = signer(SignatureType::Poly1271, Some(wallet));
    let token = TokenId::parse("123").unwrap();
    let signed =
        signer.sign(Exchange::Ctf, &token, Side::Buy, Amounts { maker: 1, taker: 2 }, 1, 2, 0).unwrap();
    assert_eq!(signed.order.signer.to_string(), wallet);
    assert_eq!(signed.order.maker.to_string(), wallet);
    let sig = &signed.signature;
    assert_eq!(sig.len(), 65 + 32 + 32 + ORDER_TYPE_STRING.len() + 2);
    assert_eq!(&sig[65..97], signer.domain(Exchange::Ctf));
    assert_eq!(&sig[97..129], &signed.order.struct_hash());
    assert_eq!(&sig[sig.len() - 2..], &(ORDER_TYPE_STRING.len() as u16).to_be_bytes());
}

#[test]
fn amounts_refuse_what_the_exchange_refuses() {
    let cent = Tick::from_micros(10_000).unwrap();
    assert_eq!(Tick::from_micros(5_000), Err(SignError::Tick { micros: 5_000 }));
    assert_eq!(
        limit_amounts(Side::Buy, 523_000, 10_000_000, cent, 5_000_000),
        Err(SignError::PriceOffTick { price: 523_000, tick: 10_000 })
    );
    for price in [0, 5_000, 995_000, 1_000_000, -10_000] {
        assert_eq!(
            limit_amounts(Side::Sell, price, 10_000_000, cent, 5_000_000),
            Err(SignError::PriceOutOfRange { price, tick: 10_000 }),
        );
    }
    // 4.999 shares truncate to 4.99, below a 5-share minimum.
    assert_eq!(
        limit_amounts(Side::Buy, 500_000, 4_999_000, cent, 5_000_000),
        Err(SignError::SizeBelowMinimum { size: 4_990_000, min: 5_000_000 })
    );
    // Nothing survives truncation: refused even without a market minimum.
    assert!(matches!(
        limit_amounts(Side::Buy, 500_000, 9_999, cent, 0),
        Err(SignError::SizeBelowMinimum { .. })
    ));
    assert!(matches!(
        limit_amounts(Side::Buy, 500_000, -1, cent, 0),
        Err(SignError::AmountOutOfRange { .. })
    ));
    assert_eq!(
        market_amounts(Side::Buy, 500_000, 999_999, cent),
        Err(SignError::NotionalBelowMinimum { notional: 990_000, min: 1_000_000 })
    );
    assert_eq!(
        market_amounts(Side::Sell, 100_000, 9_990_000, cent),
        Err(SignError::NotionalBelowMinimum { notional: 999_000, min: 1_000_000 })
    );
    let err = limit_amounts(Side::Buy, 523_000, 10_000_000, cent, 5_000_000).unwrap_err();
    assert_eq!(err.to_string(), "price 0.523 is not on the tick 0.01");
}

#[test]
fn marketable_buys_keep_four_share_decimals_on_every_tick() {
    // $3.30 at 0.3 (tick 0.1): 11 shares exactly; at 0.7: 4.714285.. -> 4.7142.
    let tenth = Tick::from_micros(100_000).unwrap();
    assert_eq!(
        market_amounts(Side::Buy, 300_000, 3_300_000, tenth).unwrap(),
        Amounts { maker: 3_300_000, taker: 11_000_000 }
    );
    assert_eq!(
        market_amounts(Side::Buy, 700_000, 3_300_000, tenth).unwrap(),
        Amounts { maker: 3_300_000, taker: 4_714_200 }
    );
    // $1.005 spends $1.00 (2 decimals) at 0.0001 tick price 0.3333 -> 3.000300.. -> 3.0003.
    let tiny = Tick::from_micros(100).unwrap();
    assert_eq!(
        market_amounts(Side::Buy, 333_300, 1_005_000, tiny).unwrap(),
        Amounts { maker: 1_000_000, taker: 3_000_300 }
    );
}

#[test]
fn bad_keys_addresses_and_tokens_are_refused_without_echoing_keys() {
    let cases = [
        "",
        "0x1234",
        &TEST_KEY.replace('a', "g"),
        "0x0000000000000000000000000000000000000000000000000000000000000000",
        "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
    ];
    for bad in cases {
        let err = PrivateKey::from_hex(bad).unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("private key rejected: "), "{shown}");
        assert!(bad.len() < 8 || !shown.contains(&bad[2..10]), "{shown}");
    }
    let key = PrivateKey::from_hex(TEST_KEY).unwrap();
    let debug = format!("{key:?}");
    assert!(!debug.contains("ac0974") && debug.contains("redacted"), "{debug}");
    assert!(!format!("{:?}", signer(SignatureType::Eoa, None)).contains("ac0974"));

    for bad in
        ["f39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0xf39F", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb9226g"]
    {
        assert!(
            matches!(Address::parse(bad, "funder"), Err(SignError::Address { what: "funder", .. })),
            "{bad}"
        );
    }
    // One flipped case breaks the EIP-55 checksum; all lower or upper case carries none.
    assert!(Address::parse("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "funder").is_err());
    assert!(Address::parse("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "funder").is_ok());

    for bad in ["", "0", "-1", "1e5", "007", &"9".repeat(79)] {
        assert!(matches!(TokenId::parse(bad), Err(SignError::TokenId { .. })), "{bad:?}");
    }
    // 2^256 - 1 fits, 2^256 does not.
    let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    assert!(TokenId::parse(max).is_ok());
    assert!(TokenId::parse("115792089237316195423570985008687907853269984665640564039457584007913129639936")
        .is_err());
}

#[test]
fn bodies_refuse_inconsistent_order_types_and_big_salts() {
    let signer = signer(SignatureType::Eoa, None);
    let token = TokenId::parse("7").unwrap();
    let amounts = Amounts { maker: 1_000_000, taker: 2_000_000 };
    assert_eq!(
        signer.sign(Exchange::Ctf, &token, Side::Buy, amounts, 1 << 53, 1, 0),
        Err(SignError::Salt { salt: 1 << 53 })
    );
    let plain = signer.sign(Exchange::Ctf, &token, Side::Buy, amounts, 1, 1, 0).unwrap();
    assert!(post_body(&plain, "k", OrderType::Fok, true, false).is_err());
    assert!(post_body(&plain, "k", OrderType::Gtd, false, false).is_err());
    let gtd = signer.sign(Exchange::Ctf, &token, Side::Buy, amounts, 1, 1, 1_780_000_060).unwrap();
    assert!(post_body(&gtd, "k", OrderType::Gtc, false, false).is_err());
    let body = post_body(&gtd, "a\"b", OrderType::Gtd, true, false).unwrap();
    assert!(
        body.ends_with(",\"owner\":\"a\\\"b\",\"orderType\":\"GTD\",\"deferExec\":false,\"postOnly\":true}"),
        "{body}"
    );
    assert!(body.contains("\"expiration\":\"1780000060\""));
}
