//! The data hub: one shared store fed by every agency and sensor, spoken to in NGSI-LD. Entities
//! are kept with expanded names (JSON-LD IRIs), indexed in memory for point, attribute and geo
//! lookups, written by one group-commit writer, and checked against their type's exchange data
//! structure ("cấu trúc dữ liệu trao đổi"): a JSON Schema, the Smart Data Models shipped.

pub mod access;
pub mod context;
pub mod contexts;
pub mod entity;
pub mod error;
pub mod geoquery;
pub mod history;
pub mod index;
pub mod ingest;
pub mod ingestor;
pub mod mqtt_url;
pub mod ops;
pub mod placement;
pub mod query;
pub mod schema;
pub mod service;
pub mod shipped;
pub mod subscriptions;
pub mod temporal;
mod writer;

pub use error::{ErrorType, HubError, HubResult};
pub use service::{EntityQuery, HubOptions, HubService, QueryAnswer};
