//! The HTTP routes, one module per resource.

pub mod admin;
pub mod audit;
pub mod check;
pub mod events;
pub mod health;
pub mod holds;
pub mod incidents;
pub mod notices;
pub mod promises;
pub mod receipts;
pub mod requests;
pub mod retention;
pub mod ropa;
pub mod subjects;
pub mod subprocessors;

use crate::error::ApiError;

/// A list of ids from a request body, each trimmed; the first that is not one is refused,
/// naming `field`.
pub(crate) fn parse_ids<T: std::str::FromStr>(
    field: &'static str,
    texts: &[String],
) -> Result<Vec<T>, ApiError> {
    texts
        .iter()
        .map(|text| {
            text.trim()
                .parse()
                .map_err(|_| ApiError::invalid(field, format!("`{text}` is not an id (a UUID)")))
        })
        .collect()
}
