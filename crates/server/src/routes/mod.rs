//! The HTTP routes, one module per resource.

pub mod admin;
pub mod audit;
pub mod check;
pub mod events;
pub mod health;
pub mod holds;
pub mod incidents;
pub mod notices;
pub mod requests;
pub mod retention;
pub mod subjects;
pub mod subprocessors;
