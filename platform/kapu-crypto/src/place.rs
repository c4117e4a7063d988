//! Where a sealed value lives: the associated data that binds a ciphertext to its scope
//! (tenant), table, row and column.

use std::fmt::Display;

/// A sealed column: its table, the table's primary key column, the column itself and the
/// context string that bound its values before they were bound to their place (format 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// The table, e.g. `client`.
    pub table: &'static str,
    /// The primary key column whose value names the row, e.g. `id`.
    pub key: &'static str,
    /// The sealed column, e.g. `identity_enc`.
    pub column: &'static str,
    /// The format-1 context string (e.g. `client.identity`), `None` for columns that never
    /// held format-1 values.
    pub legacy: Option<&'static str>,
}

impl Column {
    /// The column `column` of `table`, whose rows are named by `key`.
    pub const fn new(table: &'static str, key: &'static str, column: &'static str) -> Self {
        Self { table, key, column, legacy: None }
    }

    /// The same column, whose format-1 values were bound to `context`.
    pub const fn legacy(self, context: &'static str) -> Self {
        Self { legacy: Some(context), ..self }
    }

    /// The place of this column in the row whose primary key is `row` (its text form, as
    /// PostgreSQL prints it with `::text`).
    pub fn at(&self, row: impl Display) -> Place {
        Place { table: self.table, row: row.to_string(), column: self.column, legacy: self.legacy }
    }
}

/// One value's place: table, row (primary key as text) and column. The scope comes from the
/// keyring, so a caller cannot leave it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    table: &'static str,
    row: String,
    column: &'static str,
    legacy: Option<&'static str>,
}

impl Place {
    /// The value in `column` of the row of `table` whose primary key is `row`.
    pub fn new(table: &'static str, row: impl Display, column: &'static str) -> Self {
        Self { table, row: row.to_string(), column, legacy: None }
    }

    /// The format-1 context string of this place, if it ever held format-1 values.
    pub fn legacy(&self) -> Option<&'static str> {
        self.legacy
    }

    /// The associated data of a value sealed here in `scope`: a label, then scope, table,
    /// row and column, each length-prefixed so no two places share an encoding.
    pub(crate) fn aad(&self, scope: &str) -> Vec<u8> {
        bound(b"kapu.value", &[scope.as_bytes(), self.table.as_bytes(), self.row.as_bytes(), self.column.as_bytes()])
    }
}

/// `label` followed by each field as a 4-byte big-endian length and its bytes.
pub(crate) fn bound(label: &[u8], fields: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(label.len() + fields.iter().map(|f| f.len() + 4).sum::<usize>());
    out.extend_from_slice(label);
    for f in fields {
        out.extend_from_slice(&u32::try_from(f.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_cannot_run_into_each_other() {
        let a = Place::new("ab", "c", "d").aad("s");
        let b = Place::new("a", "bc", "d").aad("s");
        assert_ne!(a, b);
        assert_ne!(Place::new("t", "r", "c").aad("s1"), Place::new("t", "r", "c").aad("s"));
    }
}
