//! One integration test binary (atuin/kanidm habit): every module runs its story on SQLite and,
//! when HAIDANG_TEST_POSTGRES_URL is set, on PostgreSQL too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod alerts;
mod audit;
mod backup;
mod browser;
mod browser_data;
mod browser_indicators;
mod browser_portal;
mod browser_report_stats;
mod browser_report_walk;
mod browser_reports;
mod browser_response;
mod cli;
mod console;
mod crash;
mod datasets;
mod events;
mod harness;
mod http;
mod hub;
mod imap_server;
mod incidents;
mod indicators;
mod lifecycle;
mod mqtt;
mod receiver;
mod reports;
mod smtp_sink;
mod subscriptions;
mod temporal;
mod units_orgs;
mod warnings;
mod webdriver;
