//! SQL that the SQL sinks share: quoting, the counts table's columns, the additive upsert's
//! conflict clause and the checkpoint table. Each sink adds what its dialect needs (SQLite's
//! multi-row VALUES, PostgreSQL's arrays).

use anyhow::bail;

use crate::key::{BUCKET_NAME, KeySchema};

/// Offsets of the input files, committed with the counts they cover.
pub const CHECKPOINT_TABLE: &str = "statbuf_checkpoint";

/// The columns after the key columns, in order.
pub const VALUE_COLUMNS: [&str; 3] = ["count", "first_seen", "last_seen"];

/// An identifier, double-quoted. Table and column names are validated before they get here;
/// quoting keeps a keyword such as `order` usable all the same.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The key columns of `schema`, quoted.
pub fn key_columns(schema: &KeySchema) -> Vec<String> {
    schema.names().iter().map(|n| quote(n)).collect()
}

/// Every column of a counts table, unquoted, in order.
pub fn counts_columns(schema: &KeySchema) -> Vec<String> {
    let mut columns = schema.names().to_vec();
    columns.extend(VALUE_COLUMNS.map(String::from));
    columns
}

/// The types of a counts table's columns in one dialect.
pub struct ColumnTypes {
    pub key: &'static str,
    pub count: &'static str,
    pub time: &'static str,
    /// The `bucket` key column of `--bucket`.
    pub bucket: &'static str,
}

/// `CREATE TABLE IF NOT EXISTS` for the counts table: the key columns form the primary key.
pub fn create_counts_table(table: &str, schema: &KeySchema, types: &ColumnTypes, suffix: &str) -> String {
    let keys = key_columns(schema);
    let key_defs: Vec<String> = schema
        .names()
        .iter()
        .zip(&keys)
        .map(|(name, k)| match name.as_str() {
            BUCKET_NAME => format!("{k} {} NOT NULL", types.bucket),
            _ => format!("{k} {} NOT NULL", types.key),
        })
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {} ({}, count {count} NOT NULL, first_seen {time} NOT NULL, \
         last_seen {time} NOT NULL, PRIMARY KEY ({})){suffix}",
        quote(table),
        key_defs.join(", "),
        keys.join(", "),
        count = types.count,
        time = types.time,
    )
}

/// The clause that makes an insert additive: a key already there gets the new count added and
/// its `last_seen` moved on. `target` names the existing row (the table, or its alias).
pub fn add_on_conflict(schema: &KeySchema, target: &str) -> String {
    format!(
        "ON CONFLICT ({}) DO UPDATE SET count = {target}.count + excluded.count, \
         last_seen = excluded.last_seen",
        key_columns(schema).join(", ")
    )
}

/// Refuses an existing table whose columns are not this run's: counts must never land in a
/// table of another shape. `place` names the database in the message.
pub fn check_columns(place: &str, table: &str, found: &[String], schema: &KeySchema) -> anyhow::Result<()> {
    let expected = counts_columns(schema);
    if found != expected {
        bail!(
            "{place}: table {table} has the columns ({}) but this run writes ({}); use --table to name another",
            found.join(", "),
            expected.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_for_a_composite_key() {
        let schema = KeySchema::new(vec!["method".into(), "order".into()]);
        let types = ColumnTypes {
            key: "TEXT",
            count: "INTEGER",
            time: "TEXT",
            bucket: "TEXT",
        };
        assert_eq!(
            create_counts_table("counts", &schema, &types, " WITHOUT ROWID"),
            "CREATE TABLE IF NOT EXISTS \"counts\" (\"method\" TEXT NOT NULL, \"order\" TEXT NOT NULL, \
             count INTEGER NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, \
             PRIMARY KEY (\"method\", \"order\")) WITHOUT ROWID"
        );
        assert_eq!(
            add_on_conflict(&schema, "t"),
            "ON CONFLICT (\"method\", \"order\") DO UPDATE SET count = t.count + excluded.count, \
             last_seen = excluded.last_seen"
        );
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn other_columns_are_refused_by_name() {
        let schema = KeySchema::single();
        let ours = counts_columns(&schema);
        check_columns("db", "counts", &ours, &schema).unwrap();
        let other: Vec<String> = ["key", "hits"].map(String::from).to_vec();
        let message = check_columns("db", "counts", &other, &schema)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("table counts has the columns (key, hits)"),
            "{message}"
        );
    }
}
