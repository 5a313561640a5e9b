//! The audit trail: append-only records, each sealed with an HMAC over its content and the previous
//! record's seal. The key lives outside the database and the chain head is also written to a file,
//! so editing, deleting or cutting off the last records is detected by `verify_chain`.

mod chain;
mod model;
mod service;

pub use chain::{verify_chain, AuditKey, ChainHead, ChainProblem, Verifier, GENESIS};
pub use model::*;
pub use service::{AuditService, VerifyReport};
