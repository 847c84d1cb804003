//! End-to-end tests, trybuild UI tests of the macros and the ported Go
//! race-detector suite live in this package's `tests/`.
