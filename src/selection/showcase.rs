//! The showcase: the products a creator will present, each at a price they chose
//! between the product's minimum and suggested retail prices. The shop and the live
//! sandbox sell from it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::catalog::model::{self, Product};
use crate::db::schema::{products, showcase_items, suppliers};
use crate::db::{DbConn, write_tx};

pub const MAX_ITEMS: i64 = 20;

#[derive(Debug, thiserror::Error)]
pub enum ShowcaseError {
    #[error("no such product")]
    UnknownProduct,
    #[error("price outside {min}..={max}")]
    PriceOutOfRange { min: i64, max: i64 },
    #[error("the showcase is full")]
    Full,
    #[error("not in the showcase")]
    NotInShowcase,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

#[derive(Debug, Clone, Queryable)]
pub struct Item {
    pub product: Product,
    pub price_fen: i64,
    pub added_at: NaiveDateTime,
    pub supplier_name: String,
}

pub fn check_price(product: &Product, price_fen: i64) -> Result<(), ShowcaseError> {
    if price_fen < product.min_price_fen || price_fen > product.suggested_fen {
        return Err(ShowcaseError::PriceOutOfRange {
            min: product.min_price_fen,
            max: product.suggested_fen,
        });
    }
    Ok(())
}

/// Adds the product, or changes its price when it is already there. The count and the
/// insert happen in one write transaction, so two tabs cannot make it 21.
pub fn put(
    conn: &mut DbConn,
    user_id: i64,
    product_id: i64,
    price_fen: i64,
    now: NaiveDateTime,
) -> Result<Product, ShowcaseError> {
    write_tx(conn, |conn| {
        let product =
            model::find_product(conn, product_id)?.ok_or(ShowcaseError::UnknownProduct)?;
        check_price(&product, price_fen)?;
        let updated = diesel::update(showcase_items::table.find((user_id, product_id)))
            .set((
                showcase_items::price_fen.eq(price_fen),
                showcase_items::updated_at.eq(now),
            ))
            .execute(conn)?;
        if updated == 0 {
            let count: i64 = showcase_items::table
                .filter(showcase_items::user_id.eq(user_id))
                .count()
                .get_result(conn)?;
            if count >= MAX_ITEMS {
                return Err(ShowcaseError::Full);
            }
            diesel::insert_into(showcase_items::table)
                .values((
                    showcase_items::user_id.eq(user_id),
                    showcase_items::product_id.eq(product_id),
                    showcase_items::price_fen.eq(price_fen),
                    showcase_items::added_at.eq(now),
                    showcase_items::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(product)
    })
}

/// Changes the price of a product already in the showcase.
pub fn reprice(
    conn: &mut DbConn,
    user_id: i64,
    product_id: i64,
    price_fen: i64,
    now: NaiveDateTime,
) -> Result<Product, ShowcaseError> {
    write_tx(conn, |conn| {
        let present: i64 = showcase_items::table
            .filter(showcase_items::user_id.eq(user_id))
            .filter(showcase_items::product_id.eq(product_id))
            .count()
            .get_result(conn)?;
        if present == 0 {
            return Err(ShowcaseError::NotInShowcase);
        }
        put(conn, user_id, product_id, price_fen, now)
    })
}

/// Removes a product; removing one that is not there is an error the page can name.
pub fn remove(conn: &mut DbConn, user_id: i64, product_id: i64) -> Result<(), ShowcaseError> {
    let n = diesel::delete(showcase_items::table.find((user_id, product_id))).execute(conn)?;
    if n == 0 {
        return Err(ShowcaseError::NotInShowcase);
    }
    Ok(())
}

/// The creator's showcase, in the order products were added.
pub fn items(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<Item>> {
    showcase_items::table
        .inner_join(products::table.inner_join(suppliers::table))
        .filter(showcase_items::user_id.eq(user_id))
        .order((showcase_items::added_at, showcase_items::product_id))
        .select((
            Product::as_select(),
            showcase_items::price_fen,
            showcase_items::added_at,
            suppliers::name,
        ))
        .load(conn)
}

pub fn product_ids(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<(i64, i64)>> {
    showcase_items::table
        .filter(showcase_items::user_id.eq(user_id))
        .select((showcase_items::product_id, showcase_items::price_fen))
        .load(conn)
}

/// Every showcase item of every creator, for the instructor view:
/// (user id, product, price).
pub fn all_items(conn: &mut DbConn) -> QueryResult<Vec<(i64, Product, i64)>> {
    showcase_items::table
        .inner_join(products::table)
        .order((showcase_items::user_id, showcase_items::added_at))
        .select((
            showcase_items::user_id,
            Product::as_select(),
            showcase_items::price_fen,
        ))
        .load(conn)
}
