//! ombud's application: the desks and jobs that carry out the policy. Each module asks the core for
//! decisions, keeps what they produce through the store, and is shared by every surface (the HTTP
//! API, the portal, the console). Knows no HTTP and reads no environment: the server and the binary
//! translate to and from it.

pub mod bootstrap;
pub mod breach;
pub mod clock;
pub mod console;
pub mod datasets;
pub mod exports;
pub mod import;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod notices;
pub mod notify;
pub mod promises;
pub mod receipts;
pub mod restriction;
pub mod rights;
pub mod ropa;
pub mod secrets;
pub mod subprocessors;
pub mod sweeper;
pub mod tenants;
