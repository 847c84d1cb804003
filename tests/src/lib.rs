//! End-to-end tests, trybuild UI tests and ported suites live in this package
//! (the detector and instrument issues fill it).
