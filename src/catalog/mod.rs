//! The supplier catalog: the category tree and regions, stored suppliers, products, SKUs
//! and statistics, the synthetic generator, CSV import and export, and the in-memory
//! index that matching and search run on.

pub mod cli;
pub mod csv_io;
pub mod generate;
pub mod index;
pub mod model;
pub mod pricing;
pub mod regions;
pub mod search;
pub mod seed;
pub mod taxonomy;
