//! Citizen reports ("phản ánh, kiến nghị"): intake from every channel, the process with its
//! deadlines in working time, routing to the agencies, duplicates, the reporter's privacy and
//! tracking code, and what is published.

pub mod email;
pub mod media;
pub mod model;
pub mod notices;
pub mod privacy;
pub mod process;
pub mod reporter;
pub mod routing;
pub mod service;
pub mod settings;
pub mod stats;
pub mod steps;
pub mod tally;
pub mod uploads;

pub use reporter::{PublicReport, ReporterRequest};
pub use service::{NewReport, Receipt, ReportDetail, ReportService, Settings};
pub use steps::{StepRequest, SupportingPart};
