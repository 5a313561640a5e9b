//! One integration test binary (atuin/kanidm habit): every module runs its story on SQLite and,
//! when HAIDANG_TEST_POSTGRES_URL is set, on PostgreSQL too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
// TODO-later mod audit;
// TODO-later mod backup;
mod browser;
// TODO-later mod cli;
mod harness;
// TODO-later mod http;
// TODO-later mod lifecycle;
// TODO-later mod units_orgs;
mod webdriver;
