//! `Shared<T>` (placeholder: being written).

/// Placeholder.
pub struct Shared<T>(T);
