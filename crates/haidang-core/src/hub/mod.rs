//! The data hub: one shared store fed by every agency and sensor. This part holds the exchange data
//! structures ("cấu trúc dữ liệu trao đổi"): a JSON Schema per entity type, the shipped Smart Data
//! Models, and the reduction of an NGSI-LD entity to the simplified form that the schemas describe.

pub mod context;
pub mod entity;
pub mod schema;
pub mod shipped;
