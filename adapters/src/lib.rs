//! Runtime adapters for [`ssekit_codec`]: they move bytes between a transport
//! and the codec, and contain no parsing logic of their own.
//!
//! The adapters arrive behind cargo features in later releases; today this
//! crate re-exports the codec so that dependents can name one crate.

pub use ssekit_codec as codec;
