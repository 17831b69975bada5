//! Catalog records as stored: suppliers, products, SKUs and platform statistics, and the
//! queries that read and write them. Money is in fen; rates are in basis points.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{catalog_state, product_stats, products, skus, suppliers};
use crate::db::{DbConn, write_tx};

pub const CURRENCY: &str = "CNY";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = suppliers)]
pub struct Supplier {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub user_id: Option<i64>,
    pub region: String,
    /// Rating out of 5, in hundredths (480 = 4.8).
    pub rating_centi: i32,
    pub handling_hours: i32,
    /// Share of orders shipped on time, in basis points (9700 = 97 %).
    pub reliability_bp: i32,
    pub return_days: i32,
    pub return_policy: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = products)]
pub struct Product {
    pub id: i64,
    pub supplier_id: i64,
    pub product_ref: String,
    pub title: String,
    pub description: String,
    pub category: String,
    /// Comma-separated.
    pub tags: String,
    pub image_url: Option<String>,
    pub cost_fen: i64,
    pub suggested_fen: i64,
    pub min_price_fen: i64,
    pub commission_bp: i32,
    pub currency: String,
    pub updated_at: NaiveDateTime,
}

impl Product {
    pub fn tag_list(&self) -> Vec<&str> {
        self.tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = skus)]
pub struct Sku {
    pub id: i64,
    pub product_id: i64,
    pub supplier_id: i64,
    pub sku_code: String,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub stock: i32,
    pub weight_g: i32,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = product_stats)]
pub struct ProductStat {
    pub product_id: i64,
    pub segment: String,
    pub views: i64,
    pub orders: i64,
    pub returns: i64,
}

/// What the matching index keeps of a product (no description).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = products)]
pub struct ProductCore {
    pub id: i64,
    pub supplier_id: i64,
    pub title: String,
    pub category: String,
    pub tags: String,
    pub cost_fen: i64,
    pub suggested_fen: i64,
    pub min_price_fen: i64,
    pub commission_bp: i32,
}

impl From<&Product> for ProductCore {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id,
            supplier_id: p.supplier_id,
            title: p.title.clone(),
            category: p.category.clone(),
            tags: p.tags.clone(),
            cost_fen: p.cost_fen,
            suggested_fen: p.suggested_fen,
            min_price_fen: p.min_price_fen,
            commission_bp: p.commission_bp,
        }
    }
}

/// Everything the in-memory index is built from.
#[derive(Debug, Default)]
pub struct IndexRows {
    pub version: i64,
    pub suppliers: Vec<Supplier>,
    pub products: Vec<ProductCore>,
    /// (product id, total stock over its SKUs)
    pub stock: Vec<(i64, i64)>,
    pub stats: Vec<ProductStat>,
}

pub fn load_index_rows(conn: &mut DbConn) -> QueryResult<IndexRows> {
    let version = version(conn)?;
    let suppliers = suppliers::table
        .order(suppliers::id)
        .select(Supplier::as_select())
        .load(conn)?;
    let products = products::table
        .order(products::id)
        .select(ProductCore::as_select())
        .load(conn)?;
    let stock = skus::table
        .group_by(skus::product_id)
        .select((skus::product_id, diesel::dsl::sum(skus::stock)))
        .load::<(i64, Option<i64>)>(conn)?
        .into_iter()
        .map(|(id, s)| (id, s.unwrap_or(0)))
        .collect();
    let stats = product_stats::table
        .select(ProductStat::as_select())
        .load(conn)?;
    Ok(IndexRows {
        version,
        suppliers,
        products,
        stock,
        stats,
    })
}

/// The catalog's change counter; 0 before anything was written.
pub fn version(conn: &mut DbConn) -> QueryResult<i64> {
    Ok(catalog_state::table
        .find(1)
        .select(catalog_state::version)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// Marks the catalog changed, inside the writer's transaction.
pub fn bump_version(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<i64> {
    let updated = diesel::update(catalog_state::table.find(1))
        .set((
            catalog_state::version.eq(catalog_state::version + 1),
            catalog_state::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(catalog_state::table)
            .values((
                catalog_state::id.eq(1),
                catalog_state::version.eq(1),
                catalog_state::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    version(conn)
}

/// Serialises catalog writers, who allocate ids themselves: SQLite's `BEGIN IMMEDIATE`
/// already does; on PostgreSQL a transaction-scoped advisory lock does.
pub fn lock_for_write(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Postgres(_) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(7037546, 1)").execute(conn)?;
    }
    Ok(())
}

/// The next free ids for suppliers, products and SKUs.
pub fn next_ids(conn: &mut DbConn) -> QueryResult<(i64, i64, i64)> {
    use diesel::dsl::max;
    let s: Option<i64> = suppliers::table.select(max(suppliers::id)).first(conn)?;
    let p: Option<i64> = products::table.select(max(products::id)).first(conn)?;
    let k: Option<i64> = skus::table.select(max(skus::id)).first(conn)?;
    Ok((s.unwrap_or(0) + 1, p.unwrap_or(0) + 1, k.unwrap_or(0) + 1))
}

pub fn sku_count(conn: &mut DbConn) -> QueryResult<i64> {
    skus::table.count().get_result(conn)
}

pub fn product_count(conn: &mut DbConn) -> QueryResult<i64> {
    products::table.count().get_result(conn)
}

// Rows per INSERT: under SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
const PRODUCT_ROWS: usize = 1_500;
const SKU_ROWS: usize = 3_000;
const STAT_ROWS: usize = 5_000;

/// A multi-row INSERT, run on the backend's own connection: diesel's connection over
/// both backends cannot write batches itself.
macro_rules! insert_batches {
    ($conn:expr, $table:expr, $rows:expr, $per:expr) => {{
        for chunk in $rows.chunks($per) {
            let insert = diesel::insert_into($table).values(chunk);
            match $conn {
                DbConn::Sqlite(c) => insert.execute(c)?,
                DbConn::Postgres(c) => insert.execute(c)?,
            };
        }
        Ok(())
    }};
}

pub fn insert_suppliers(conn: &mut DbConn, rows: &[Supplier]) -> QueryResult<()> {
    insert_batches!(conn, suppliers::table, rows, PRODUCT_ROWS)
}

pub fn insert_products(conn: &mut DbConn, rows: &[Product]) -> QueryResult<()> {
    insert_batches!(conn, products::table, rows, PRODUCT_ROWS)
}

pub fn insert_skus(conn: &mut DbConn, rows: &[Sku]) -> QueryResult<()> {
    insert_batches!(conn, skus::table, rows, SKU_ROWS)
}

pub fn insert_stats(conn: &mut DbConn, rows: &[ProductStat]) -> QueryResult<()> {
    insert_batches!(conn, product_stats::table, rows, STAT_ROWS)
}

pub fn find_product(conn: &mut DbConn, id: i64) -> QueryResult<Option<Product>> {
    products::table
        .find(id)
        .select(Product::as_select())
        .first(conn)
        .optional()
}

pub fn product_skus(conn: &mut DbConn, product_id: i64) -> QueryResult<Vec<Sku>> {
    skus::table
        .filter(skus::product_id.eq(product_id))
        .order(skus::id)
        .select(Sku::as_select())
        .load(conn)
}

pub fn find_supplier(conn: &mut DbConn, id: i64) -> QueryResult<Option<Supplier>> {
    suppliers::table
        .find(id)
        .select(Supplier::as_select())
        .first(conn)
        .optional()
}

pub fn supplier_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<Supplier>> {
    suppliers::table
        .filter(suppliers::code.eq(code))
        .select(Supplier::as_select())
        .first(conn)
        .optional()
}

pub fn supplier_of_user(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<Supplier>> {
    suppliers::table
        .filter(suppliers::user_id.eq(user_id))
        .select(Supplier::as_select())
        .first(conn)
        .optional()
}

pub fn list_suppliers(conn: &mut DbConn) -> QueryResult<Vec<(Supplier, i64)>> {
    let all = suppliers::table
        .order(suppliers::code)
        .select(Supplier::as_select())
        .load(conn)?;
    let counts: Vec<(i64, i64)> = skus::table
        .group_by(skus::supplier_id)
        .select((skus::supplier_id, diesel::dsl::count_star()))
        .load(conn)?;
    let counts: std::collections::HashMap<i64, i64> = counts.into_iter().collect();
    Ok(all
        .into_iter()
        .map(|s| {
            let n = counts.get(&s.id).copied().unwrap_or(0);
            (s, n)
        })
        .collect())
}

/// Creates a supplier in one transaction, taking the next id.
pub fn create_supplier(conn: &mut DbConn, mut supplier: Supplier) -> QueryResult<Supplier> {
    write_tx(conn, |conn| {
        lock_for_write(conn)?;
        let (next, _, _) = next_ids(conn)?;
        supplier.id = next;
        insert_suppliers(conn, std::slice::from_ref(&supplier))?;
        bump_version(conn, supplier.created_at)?;
        Ok(supplier)
    })
}

/// (products, SKUs) of one supplier.
pub fn supplier_counts(conn: &mut DbConn, supplier_id: i64) -> QueryResult<(i64, i64)> {
    let p = products::table
        .filter(products::supplier_id.eq(supplier_id))
        .count()
        .get_result(conn)?;
    let s = skus::table
        .filter(skus::supplier_id.eq(supplier_id))
        .count()
        .get_result(conn)?;
    Ok((p, s))
}
