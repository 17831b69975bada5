//! The supplier side: the portal where a supplier account manages its supplier record
//! and catalog (CSV upload with the importer's validation, CSV download).

pub mod portal;
