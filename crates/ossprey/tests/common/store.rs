//! Reading numbers back out of a store on either backend.

use ossprey_store::Store;

/// The single value of a one-row, one-column query as an integer. SQLite and
/// PostgreSQL disagree on how a `COUNT(*)` comes back (number or numeric text), so
/// both are accepted.
pub fn scalar(store: &Store, sql: &str) -> i64 {
    let rows = store.raw_query(sql).unwrap();
    let row = rows.first().unwrap_or_else(|| panic!("no row from {sql}"));
    let value = row
        .values()
        .next()
        .unwrap_or_else(|| panic!("no column from {sql}"));
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{sql} gave {value}"))
}

/// Every queued job as `ecosystem:name@version kind`, sorted, whatever its state.
pub fn jobs(store: &Store) -> Vec<String> {
    let rows = store
        .raw_query(
            "SELECT ecosystem, name, version, kind FROM jobs ORDER BY ecosystem, name, version",
        )
        .unwrap();
    rows.iter()
        .map(|r| {
            let s = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_owned();
            format!(
                "{}:{}@{} {}",
                s("ecosystem"),
                s("name"),
                s("version"),
                s("kind")
            )
        })
        .collect()
}
