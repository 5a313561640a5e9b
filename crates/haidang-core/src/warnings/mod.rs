//! Public warnings (issue 8, part 5): drafted, approved, updated, cancelled and expired; each
//! version out published as a CAP 1.2 message and listed in an Atom feed.

pub mod cap;
pub mod model;
pub mod service;

pub use model::{PublicWarning, WarningContent, WarningState};
pub use service::{WarningService, WarningSettings, WarningStep};
