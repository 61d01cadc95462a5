//! Nothing but a home for libsession's tests, benchmarks and examples that
//! need heavy dependencies (tokio, axum, tower-sessions, cbindgen): see
//! `tests/`, `benches/` and `examples/` beside this file.
