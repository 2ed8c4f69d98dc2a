//! The encoder (in progress).
