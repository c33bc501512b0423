//! File scanning (placeholder while the dependency builds).
