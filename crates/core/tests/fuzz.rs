//! Fuzz targets for what people and devices type or send, run by `cargo test` with
//! bolero's test engine: the committed corpus (`tests/__fuzz__/<target>/corpus/`), then
//! random inputs for a bounded time. `cargo bolero test <target>` fuzzes one for longer
//! with a coverage-guided engine; a failing input found there goes into its corpus.

use std::time::Duration;

use bouquet_core::ReferralCode;
use bouquet_core::sync::{Change, Entity, RecordState, check_change};
use serde_json::Value;

/// Bounded so the whole suite stays fast: a few seconds per target.
fn budget() -> Duration {
    Duration::from_secs(3)
}

/// Any text a couple types or a link carries: parsing never panics, and a code it accepts
/// reads back as itself (the canonical form round-trips).
#[test]
fn referral_code_parser() {
    bolero::check!().with_test_time(budget()).for_each(|bytes: &[u8]| {
        let Ok(text) = std::str::from_utf8(bytes) else { return };
        if let Ok(code) = ReferralCode::parse(text) {
            let again = ReferralCode::parse(&code.to_string()).expect("a parsed code's own text parses");
            assert_eq!(again, code);
            assert!(code.to_string().is_ascii());
        }
    });
}

/// A device's change, as JSON bytes: decoding, the field rules and merging never panic,
/// and a change the rules accept merges into a record that holds its fields.
#[test]
fn sync_change_decoder() {
    bolero::check!().with_test_time(budget()).for_each(|bytes: &[u8]| {
        let Ok(change) = serde_json::from_slice::<Change>(bytes) else { return };
        let mut existing = RecordState::default();
        if check_change(change.entity, &change, None).is_ok() {
            existing.merge(&change.fields, &change.clocks, change.deleted.as_ref());
            for (name, value) in &change.fields {
                if change.deleted.is_none() {
                    assert_eq!(existing.fields.get(name), Some(value), "{name} merged");
                }
            }
            // The same change again changes nothing.
            let before = existing.clone();
            existing.merge(&change.fields, &change.clocks, change.deleted.as_ref());
            assert_eq!(existing, before);
        }
        let _ = Entity::ALL.iter().map(|e| check_change(*e, &change, Some(&existing))).count();
        let _: Option<Value> = serde_json::to_value(&change).ok();
    });
}
