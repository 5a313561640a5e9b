//! Datasets ("bộ dữ liệu"): the regulations make every agency answer for the data it provides.
//! A dataset names an organisation's data of one type, is approved before it goes live, is shared
//! by default or only on request (grants), may be sent on a form, and is judged by the test
//! "đúng, đủ, sạch, sống" (correct, complete, clean, live).

pub mod assess;
pub mod catalog;
pub mod forms;
pub mod intake;
pub mod liveness;
pub mod model;
pub mod quality;
pub mod schedule;
pub mod service;

pub use service::{DatasetService, GrantSpec, WindowSpec};
