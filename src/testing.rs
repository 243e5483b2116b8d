//! Fixtures shared by the library's unit tests.

use crate::event::Event;
use crate::record::Entry;

/// A ledger of these events in order: seq from 1, hash = seq in 64 hex
/// digits, a fixed `recorded`. The chain is not sealed; the fold and the
/// views only need seq and hash to be distinct.
pub(crate) fn entries(events: &[serde_json::Value]) -> Vec<Entry> {
    events
        .iter()
        .enumerate()
        .map(|(i, v)| Entry {
            seq: i as u64 + 1,
            hash: format!("{:064x}", i + 1),
            recorded: "2026-01-01T00:00:00Z".into(),
            event: Event::from_json(v).expect("valid event"),
        })
        .collect()
}
