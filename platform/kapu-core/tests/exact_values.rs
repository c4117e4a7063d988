//! What is stored is exactly what was sent: property tests against a real PostgreSQL.
//!
//! Every path that sends values inside SQL text (`Db::tenant_write` with `Statement::new`
//! and with a sea-query statement, `TenantTx::run`, `TenantTx::defer` with the commit) and
//! the ordinary bind-parameter path write arbitrary Unicode (control characters, U+001A,
//! backslashes, quotes, `$$`, text that made sea-query write `E''`) into text, jsonb, text[]
//! and bytea, and read it back byte for byte; a value holding NUL, which PostgreSQL cannot
//! store, is refused before anything is written.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicI64, Ordering};

use common::{Path, read_back, setup, slug, write};
use kapu_core::CoreError;
use proptest::prelude::*;

/// Characters that have broken SQL quoting somewhere, mixed with any Unicode.
fn text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '\u{1a}', '\\', '\'', '"', '$', '\n', '\r', '\t', '\u{8}', '\u{c}', '\u{7f}', '\u{1b}', '\u{1}', 'E', 'x', '0', '?', ';', '-', '/',
        '*', '\u{a0}', '\u{2028}', '\u{feff}', '\u{fffd}', '😀', 'ő', 'ű',
    ]);
    let ch = prop_oneof![4 => special, 3 => any::<char>().prop_filter("not NUL", |c| *c != '\0'), 1 => Just('\0')];
    prop::collection::vec(ch, 0..24).prop_map(String::from_iter)
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..16)
}

static NEXT_ID: AtomicI64 = AtomicI64::new(1);

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_path_stores_exactly_what_it_was_sent_or_refuses_it(s in text(), b in bytes()) {
        let env = setup();
        for path in Path::ALL {
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            let sent = common::Row::from_text(id, &s, b.clone());
            let result = env.rt.block_on(write(&env.db, &slug(), path, &sent));
            let stored = env.rt.block_on(read_back(&env.db, &slug(), id)).unwrap();
            if s.contains('\0') {
                let refused = match (&result, path) {
                    (Err(CoreError::UnstorableValue(_)), Path::Bind) => false,
                    (Err(CoreError::UnstorableValue(_)), _) => true,
                    (Err(CoreError::Database(e)), Path::Bind) => CoreError::is_unstorable(e),
                    _ => false,
                };
                prop_assert!(refused, "{path:?}: a value with NUL was not refused as unstorable: {result:?}");
                prop_assert!(stored.is_none(), "{path:?}: a refused write left a row behind");
            } else {
                prop_assert!(result.is_ok(), "{path:?}: {result:?}");
                prop_assert_eq!(stored.as_ref(), Some(&sent), "{:?}: what was read back differs from what was sent", path);
            }
        }
    }
}

/// The strings that sea-query 0.32 alone changed or could not send: it wrote U+001A as `\z`
/// inside `E''`, which PostgreSQL reads as `z`.
#[test]
fn the_strings_sea_query_changed_are_stored_exactly() {
    let env = setup();
    for s in ["a\u{1a}b", "\\z", "\u{1a}\\", "it's \\'", "$$;DROP TABLE exact;$$", "E'\\x41'", "\u{8}\u{c}\t\r\n", "\\\\"] {
        for path in Path::ALL {
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            let sent = common::Row::from_text(id, s, s.as_bytes().to_vec());
            env.rt.block_on(write(&env.db, &slug(), path, &sent)).unwrap();
            assert_eq!(env.rt.block_on(read_back(&env.db, &slug(), id)).unwrap(), Some(sent), "{path:?}: {s:?}");
        }
    }
}
