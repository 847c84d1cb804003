//! Go's `time` package (placeholder: being written).
