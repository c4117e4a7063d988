//! The sea-query path past the kept shapes: once `QUERY_TEXTS` statement texts are kept,
//! `Statement::query` sends its values inlined instead of preparing. That path stores
//! exactly what it was sent too. (A test binary of its own, since the kept texts are the
//! process's.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Row, query_insert, read_back, setup, slug};
use kapu_core::{CoreError, QUERY_TEXTS, Statement};
use sea_query::{Alias, Expr, Query};

#[test]
fn sea_query_statements_past_the_kept_shapes_store_exactly_or_refuse() {
    let env = setup();
    // Fill the kept texts with shapes of no use (one column alias each).
    for i in 0..QUERY_TEXTS {
        let _ = Statement::query(&Query::select().expr_as(Expr::val(1), Alias::new(format!("c{i}"))).to_owned());
    }
    for (id, s) in [(1_i64, "a\u{1a}b\\z'\"$$"), (2, "\u{1}\u{8}\t\n\r\u{1b}\u{7f}😀"), (3, "E'\\\\'")] {
        let sent = Row::from_text(id, s, vec![0, 0x5c, 0x27, 0xff]);
        let insert = query_insert(&sent);
        assert!(format!("{insert:?}").contains("Text"), "past the kept shapes, the statement travels as text: {insert:?}");
        env.rt.block_on(env.db.tenant_write(&slug(), &[insert])).unwrap();
        assert_eq!(env.rt.block_on(read_back(&env.db, &slug(), id)).unwrap(), Some(sent));
    }
    let refused = Row::from_text(9, "a\0b", vec![]);
    let err = env.rt.block_on(env.db.tenant_write(&slug(), &[query_insert(&refused)])).unwrap_err();
    assert!(matches!(err, CoreError::UnstorableValue(_)), "{err:?}");
    assert_eq!(env.rt.block_on(read_back(&env.db, &slug(), 9)).unwrap(), None);
}
