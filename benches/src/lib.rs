//! Criterion suites live in `benches/`; run them with `cargo bench -p benches`.
