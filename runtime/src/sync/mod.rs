//! Go's `sync` package (placeholder: being written).
