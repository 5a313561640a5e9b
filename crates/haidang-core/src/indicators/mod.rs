//! Monitoring indicators ("bộ chỉ số giám sát"): the catalog the province approves, the year's
//! targets ("chỉ tiêu"), the figures the agencies send each period (plan, estimate, actual, each
//! reviewed and kept with every revision), their evaluation against the targets with warnings
//! and forecasts, ad hoc data requests, and their publication as NGSI-LD entities of type
//! KeyPerformanceIndicator.

pub mod achievement;
pub mod book;
pub mod catalog;
pub mod evaluate;
pub mod forecast;
pub mod formula;
pub mod model;
pub mod overview;
pub mod period;
pub mod publish;
pub mod realtime;
pub mod requests;
pub mod schedule;
pub mod service;
pub mod values;

pub use service::{IndicatorService, Settings};
