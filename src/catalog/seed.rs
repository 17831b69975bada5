//! Writing a generated catalog to the database, in batches inside one transaction, and
//! seeding the demo catalog on the first start.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::generate::Generator;
use super::model::{self, Product, ProductStat, Sku};
use crate::db::schema::{suppliers, users};
use crate::db::{DbConn, write_tx};

/// Products per batch written; SKUs and statistics follow their products.
const BATCH: usize = 1_500;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Generated {
    pub suppliers: usize,
    pub products: usize,
    pub skus: usize,
    pub stats: usize,
}

/// Generates `skus` SKUs with `seed` and adds them to the catalog in one transaction.
/// `progress` is called with the SKUs written so far.
pub fn generate_into(
    conn: &mut DbConn,
    seed: u64,
    skus: u64,
    now: NaiveDateTime,
    mut progress: impl FnMut(u64),
) -> QueryResult<Generated> {
    write_tx(conn, |conn| {
        model::lock_for_write(conn)?;
        let first = model::next_ids(conn)?;
        let mut generator = Generator::new(seed, skus, first, now);
        let mut done = Generated {
            suppliers: generator.suppliers.len(),
            ..Default::default()
        };
        model::insert_suppliers(conn, &generator.suppliers)?;
        let (mut products, mut sku_rows, mut stats): (Vec<Product>, Vec<Sku>, Vec<ProductStat>) =
            (Vec::with_capacity(BATCH), Vec::new(), Vec::new());
        let mut flush = |conn: &mut DbConn,
                         products: &mut Vec<Product>,
                         sku_rows: &mut Vec<Sku>,
                         stats: &mut Vec<ProductStat>,
                         done: &mut Generated|
         -> QueryResult<()> {
            model::insert_products(conn, products)?;
            model::insert_skus(conn, sku_rows)?;
            model::insert_stats(conn, stats)?;
            done.products += products.len();
            done.skus += sku_rows.len();
            done.stats += stats.len();
            products.clear();
            sku_rows.clear();
            stats.clear();
            progress(done.skus as u64);
            Ok(())
        };
        for item in generator.by_ref() {
            products.push(item.product);
            sku_rows.extend(item.skus);
            stats.extend(item.stats);
            if products.len() == BATCH {
                flush(conn, &mut products, &mut sku_rows, &mut stats, &mut done)?;
            }
        }
        flush(conn, &mut products, &mut sku_rows, &mut stats, &mut done)?;
        model::bump_version(conn, now)?;
        Ok(done)
    })
}

/// On an empty catalog, generates the demo catalog and gives the demo supplier account,
/// if there is one, the first supplier to manage. Returns what was generated.
pub fn seed_demo(
    conn: &mut DbConn,
    skus: u64,
    now: NaiveDateTime,
) -> anyhow::Result<Option<Generated>> {
    if skus == 0 || model::sku_count(conn)? > 0 {
        return Ok(None);
    }
    let done = generate_into(conn, 42, skus, now, |_| {})?;
    link_demo_supplier(conn)?;
    Ok(Some(done))
}

fn link_demo_supplier(conn: &mut DbConn) -> QueryResult<()> {
    let demo: Option<i64> = users::table
        .filter(users::email.eq(crate::accounts::demo::DEMO_SUPPLIER_EMAIL))
        .filter(users::role.eq("supplier"))
        .select(users::id)
        .first(conn)
        .optional()?;
    let Some(user_id) = demo else {
        return Ok(());
    };
    if model::supplier_of_user(conn, user_id)?.is_some() {
        return Ok(());
    }
    let first: Option<i64> = suppliers::table
        .filter(suppliers::user_id.is_null())
        .select(suppliers::id)
        .order(suppliers::id)
        .first(conn)
        .optional()?;
    if let Some(id) = first {
        diesel::update(suppliers::table.find(id))
            .set(suppliers::user_id.eq(user_id))
            .execute(conn)?;
    }
    Ok(())
}
