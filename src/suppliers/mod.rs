//! The supplier side: the portal where a supplier account manages its supplier record
//! and catalog (CSV upload with the importer's validation, CSV download), its routed
//! orders and returns, and the JSON API for suppliers' own systems.

pub mod api;
pub mod keys;
pub mod orders;
pub mod portal;
pub mod queries;
