//! Go's `context` package (placeholder: being written).
