//! ombud-connect: datasets and the operator's own databases. Reads datasets (ombud's TOML and
//! Fides YAML as it is), checks them against the policy, and reaches the rows a person's
//! identities lead to along their references. Knows the SQL of other people's schemas;
//! decides nothing (what may be read, kept or erased is the policy's and core's).

pub mod check;
pub mod dataset;
pub mod fides;
pub mod native;
pub mod problem;
pub mod reach;
pub mod sql;

pub use dataset::{
    Collection, Connection, Dataset, Direction, Field, Kind, Masking, Reference, TenantScope,
};
pub use problem::{Places, Problem};
