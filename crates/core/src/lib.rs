//! ombud's domain rules. Decisions here are pure functions of the policy, the facts recorded
//! about a subject and the time they are asked at: no I/O, no database, no clock of its own.
//! Storage and HTTP live in other crates and call in.

pub mod access;
pub mod breach;
pub mod calendar;
pub mod clock;
pub mod facts;
pub mod identity;
pub mod notices;
pub mod records;
pub mod requests;
pub mod retention;
pub mod text;

pub use access::{DataRole, Decision, Reason, decide, decide_purpose};
pub use clock::{Clock, ManualClock};
pub use facts::{Event, EventKind, SubjectFacts};
pub use identity::{Identity, IdentityError, IdentityKind};
pub use requests::{RequestError, RequestKind, RequestStatus};
