//! `raw_query`: the user's own SQL, read-only, rows as JSON objects.
//!
//! Read-only is enforced by the database, not by inspecting the SQL: on SQLite the
//! query runs on a connection opened read-only with `PRAGMA query_only`; on
//! PostgreSQL inside a `READ ONLY` transaction on a connection that is closed
//! afterwards (so a `SET` cannot leak into the pool the writers use).
//!
//! One exception: SQLite's `VACUUM INTO 'file'` writes a new file even from a
//! read-only connection, so SQLite text with any statement starting with `VACUUM` is
//! refused before it reaches the database.

use serde_json::{Map, Value};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Column, Connection, Decode, Row, TypeInfo, ValueRef};

use crate::{Pool, Store, StoreError};

/// One result row: column name → value.
pub type JsonRow = Map<String, Value>;

impl Store {
    /// Runs one read-only SQL statement and returns its rows as JSON objects.
    /// Statements that would write are refused by the database
    /// ([`StoreError::WriteRefused`]).
    pub fn raw_query(&self, sql: &str) -> Result<Vec<JsonRow>, StoreError> {
        let refused = |e: sqlx::Error| -> StoreError {
            match self.db_error(e, "running a raw query") {
                StoreError::ReadOnly { message, .. } => StoreError::WriteRefused { message },
                other => other,
            }
        };
        match self.pool() {
            Pool::Sqlite(_) => {
                // SQLite runs every `;`-separated statement of the text, so each one is
                // checked (a `;` inside a string literal only makes this refuse more).
                if sql
                    .split(';')
                    .any(|statement| first_keyword(statement) == "vacuum")
                {
                    return Err(StoreError::WriteRefused {
                        message: "VACUUM writes files; it is not a query".into(),
                    });
                }
                let Some(ro) = &self.sqlite_read_only else {
                    return Err(StoreError::Open {
                        db: self.display_url().to_owned(),
                        message: "no read-only connection".into(),
                    });
                };
                let rows: Vec<SqliteRow> = self
                    .block_on(sqlx::query(AssertSqlSafe(sql)).fetch_all(ro))
                    .map_err(refused)?;
                rows.iter()
                    .map(sqlite_row)
                    .collect::<Result<_, _>>()
                    .map_err(refused)
            }
            Pool::Postgres(pool) => self
                .block_on(async {
                    let mut conn = pool.acquire().await?.detach();
                    let result = pg_read_only(&mut conn, sql).await;
                    // Closing (not returning) the connection drops any session state
                    // the statement changed.
                    let _ = conn.close().await;
                    result
                })
                .map_err(refused),
        }
    }
}

async fn pg_read_only(
    conn: &mut sqlx::PgConnection,
    sql: &str,
) -> Result<Vec<JsonRow>, sqlx::Error> {
    let mut tx = conn.begin_with("BEGIN READ ONLY").await?;
    let statement = sql.trim().trim_end_matches(';').trim_end();
    let rows = if returns_rows(statement) {
        // The server turns any row into JSON, whatever its column types (numeric,
        // timestamps, arrays) — no client-side decoder per type.
        let wrapped = format!("SELECT row_to_json(q)::text FROM ({statement}\n) AS q");
        let texts: Vec<String> = sqlx::query_scalar(AssertSqlSafe(wrapped))
            .fetch_all(&mut *tx)
            .await?;
        texts
            .into_iter()
            .map(|t| match serde_json::from_str::<Value>(&t) {
                Ok(Value::Object(m)) => Ok(m),
                Ok(other) => Ok(Map::from_iter([("value".to_owned(), other)])),
                Err(e) => Err(sqlx::Error::Decode(Box::new(e))),
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        let rows: Vec<PgRow> = sqlx::query(AssertSqlSafe(statement))
            .fetch_all(&mut *tx)
            .await?;
        rows.iter().map(pg_row).collect::<Result<Vec<_>, _>>()?
    };
    tx.rollback().await?;
    Ok(rows)
}

/// Whether a statement is a query that can be wrapped as a subquery.
fn returns_rows(statement: &str) -> bool {
    matches!(
        first_keyword(statement).as_str(),
        "select" | "with" | "values" | "table"
    )
}

/// The statement's first word, lowercase, after any leading comments.
fn first_keyword(statement: &str) -> String {
    let mut s = statement.trim_start();
    // Skip leading comments.
    loop {
        if let Some(rest) = s.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    s.chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_lowercase()
}

fn sqlite_row(row: &SqliteRow) -> Result<JsonRow, sqlx::Error> {
    let mut out = Map::new();
    for (i, col) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i)?;
        let value = if raw.is_null() {
            Value::Null
        } else {
            // SQLite values carry their own storage class, whatever the column says.
            match raw.type_info().name() {
                "INTEGER" | "BOOLEAN" => Value::from(
                    <i64 as Decode<sqlx::Sqlite>>::decode(raw).map_err(sqlx::Error::Decode)?,
                ),
                "REAL" => serde_json::Number::from_f64(
                    <f64 as Decode<sqlx::Sqlite>>::decode(raw).map_err(sqlx::Error::Decode)?,
                )
                .map_or(Value::Null, Value::Number),
                "BLOB" => Value::from(hex_string(
                    <Vec<u8> as Decode<sqlx::Sqlite>>::decode(raw).map_err(sqlx::Error::Decode)?,
                )),
                _ => Value::from(
                    <String as Decode<sqlx::Sqlite>>::decode(raw).map_err(sqlx::Error::Decode)?,
                ),
            }
        };
        out.insert(col.name().to_owned(), value);
    }
    Ok(out)
}

fn hex_string(bytes: Vec<u8>) -> String {
    hex::encode(bytes)
}

/// Decodes statements that are not wrapped (`SHOW`, `EXPLAIN`): they return text,
/// booleans and numbers.
fn pg_row(row: &PgRow) -> Result<JsonRow, sqlx::Error> {
    let mut out = Map::new();
    for (i, col) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i)?;
        let value = if raw.is_null() {
            Value::Null
        } else {
            let ty = col.type_info().name().to_owned();
            match ty.as_str() {
                "BOOL" => Value::from(row.try_get::<bool, _>(i)?),
                "INT2" => Value::from(row.try_get::<i16, _>(i)?),
                "INT4" => Value::from(row.try_get::<i32, _>(i)?),
                "INT8" => Value::from(row.try_get::<i64, _>(i)?),
                "FLOAT4" => serde_json::Number::from_f64(f64::from(row.try_get::<f32, _>(i)?))
                    .map_or(Value::Null, Value::Number),
                "FLOAT8" => serde_json::Number::from_f64(row.try_get::<f64, _>(i)?)
                    .map_or(Value::Null, Value::Number),
                "JSON" | "JSONB" => row.try_get::<Value, _>(i)?,
                "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "UNKNOWN" => {
                    Value::from(row.try_get::<String, _>(i)?)
                }
                other => {
                    return Err(sqlx::Error::ColumnDecode {
                        index: col.name().to_owned(),
                        source: format!(
                            "type {other} is not supported here; cast the column to text"
                        )
                        .into(),
                    });
                }
            }
        };
        out.insert(col.name().to_owned(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{first_keyword, returns_rows};

    #[test]
    fn queries_are_told_from_other_statements() {
        assert!(returns_rows("SELECT 1"));
        assert!(returns_rows(
            "  -- pivot\n  with x as (select 1) select * from x"
        ));
        assert!(returns_rows("/* c */ VALUES (1)"));
        assert!(!returns_rows("DELETE FROM analyses"));
        assert!(!returns_rows("SHOW server_version"));
        assert!(!returns_rows("-- only a comment"));
        assert_eq!(first_keyword("/* x */ -- y\n  Vacuum INTO 'f'"), "vacuum");
    }
}
