//! No single-byte change to a ledger passes verification silently.

mod common;

use common::TestEnv;
use proptest::prelude::*;

/// What `fusion verify` checks, through the library: the chain, then every
/// event against the vocabulary.
fn verifies(bytes: &[u8]) -> bool {
    match fusion::chain::verify(bytes, 1) {
        Ok(chain) => chain.records.iter().all(|r| r.entry().is_ok()),
        Err(_) => false,
    }
}

fn small_ledger() -> Vec<u8> {
    let env = TestEnv::with_ledger();
    env.append(concat!(
        r#"{"type":"created","date":"2008","id":"edit","name":"Édit","kind":"cluster","sources":[{"doc":"a.txt","quote":"« Depuis 2008 »"}]}"#, "\n",
        r#"{"type":"figures","date":"2016-23","org":"edit","values":{"members":600},"sources":[{"doc":"b"}]}"#, "\n",
        r#"{"type":"renamed","date":"2015-05~","org":"edit","name":"E\"dit","sources":[{"doc":"c","url":"https://example.org/x"}]}"#, "\n",
    ));
    env.ledger_bytes()
}

#[test]
fn every_bit_flip_of_every_byte_is_caught() {
    let good = small_ledger();
    assert!(verifies(&good));
    for pos in 0..good.len() {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[pos] ^= 1 << bit;
            assert!(
                !verifies(&bad),
                "flipping bit {bit} of byte {pos} passed verification"
            );
        }
    }
}

proptest! {
    #[test]
    fn any_byte_replaced_by_any_other_is_caught(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let good = small_ledger_cached();
        let i = pos.index(good.len());
        prop_assume!(good[i] != byte);
        let mut bad = good.to_vec();
        bad[i] = byte;
        prop_assert!(!verifies(&bad), "byte {} set to {:#04x} passed", i, byte);
    }
}

fn small_ledger_cached() -> &'static [u8] {
    static LEDGER: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    LEDGER.get_or_init(small_ledger)
}
