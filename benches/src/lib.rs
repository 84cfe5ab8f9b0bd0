//! Criterion suites live in `benches/`; run them with `cargo bench -p benches`.
//! This library holds what the suites share.

use std::path::Path;

/// Whether the suite runs short: `-- --quick` or `WCRM_BENCH_QUICK=1`.
pub fn quick_mode() -> bool {
    std::env::args().any(|a| a == "--quick")
        || std::env::var("WCRM_BENCH_QUICK").is_ok_and(|v| v == "1")
}

/// A plain connection to a store's SQLite file, with the store's own
/// settings, so a floor measured on it differs from the store only in the
/// work it does.
pub fn bare_sqlite(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
    )?;
    Ok(conn)
}
