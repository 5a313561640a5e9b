//! One integration test binary (atuin/kanidm habit): every module runs its story on SQLite and,
//! when HAIDANG_TEST_POSTGRES_URL is set, on PostgreSQL too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod audit;
mod backup;
// TODO-later mod browser;
// TODO-later mod cli;
mod harness;
mod http;
mod lifecycle;
mod units_orgs;
// TODO-later mod webdriver;
