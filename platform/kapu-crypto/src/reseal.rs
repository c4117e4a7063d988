//! Moving sealed values to the active data key and to the current format.

use sqlx::PgConnection;

use crate::{Column, CryptoError, Keyring};

/// Seals again, in the caller's transaction, every value of `column` that is stale (in
/// format 1, or under an older data key than the active one): after a data key rotation,
/// and to bind format-1 values to their place. Returns how many values were re-sealed.
///
/// The owning crate names its sealed columns ([`Column`] constants); the statements are
/// built here from those compile-time names, one row at a time (values such as PDFs can be
/// large), each row locked until the transaction ends.
pub async fn reseal_column(conn: &mut PgConnection, ring: &Keyring, column: &Column) -> Result<usize, CryptoError> {
    let Column { table, key, column: col, .. } = *column;
    let rows: Vec<(String, String, Vec<u8>)> = sqlx::query_as(&format!(
        r#"SELECT ctid::text, "{key}"::text, substring("{col}" FROM 1 FOR 5) FROM "{table}" WHERE "{col}" IS NOT NULL FOR UPDATE"#
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut n = 0;
    for (ctid, row, head) in rows {
        if !ring.is_stale_head(&head) {
            continue;
        }
        let blob: Vec<u8> = sqlx::query_scalar(&format!(r#"SELECT "{col}" FROM "{table}" WHERE ctid = CAST($1 AS tid)"#))
            .bind(&ctid)
            .fetch_one(&mut *conn)
            .await?;
        let place = column.at(&row);
        let plain = zeroize::Zeroizing::new(ring.open(&place, &blob)?);
        sqlx::query(&format!(r#"UPDATE "{table}" SET "{col}" = $2 WHERE ctid = CAST($1 AS tid)"#))
            .bind(&ctid)
            .bind(ring.seal(&place, &plain)?)
            .execute(&mut *conn)
            .await?;
        n += 1;
    }
    Ok(n)
}
