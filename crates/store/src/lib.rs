//! ombud storage.

pub mod crypto;
