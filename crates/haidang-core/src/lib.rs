//! The domain of Hải Đăng: one module per capability. Each owns its types, its rules and the
//! repository trait the store implements. No HTTP and no SQL here.

pub mod accounts;
pub mod alerts;
pub mod audit;
pub mod calendar;
pub mod datasets;
pub mod error;
pub mod events;
pub mod hub;
pub mod incidents;
pub mod indicators;
pub mod orgs;
pub mod repo;
pub mod reports;
pub mod time;
pub mod units;
pub mod warnings;

pub use error::{CoreError, CoreResult, PasswordRule};
