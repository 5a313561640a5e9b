//! Accounts and access: users of an organisation with one role, sessions, API tokens for machines,
//! acting officers (delegation), and the one policy that decides every permission.

pub mod admin;
pub mod model;
pub mod password;
pub mod policy;
pub mod secret;
pub mod service;
pub mod totp;

pub use model::*;
pub use policy::{Action, Grant, Subject};
pub use service::{AccountService, LoginOutcome, LoginRequest};
