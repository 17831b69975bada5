//! Shops: one per creator, at `/shop/<handle>`. A sandbox shop is seen only by its owner
//! and the simulation; graduation makes it live and public.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;

use super::state::Mode;
use crate::db::schema::{shops, users};
use crate::db::{DbConn, on_backend};

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = shops)]
pub struct Shop {
    pub user_id: i64,
    pub handle: String,
    pub mode: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Shop {
    pub fn mode(&self) -> Mode {
        Mode::parse(&self.mode).unwrap_or(Mode::Sandbox)
    }
}

/// What an order placement needs to know of its shop, read in one statement: the shop,
/// the creator's platform fee, and the creator's running show (its id and mode), if any.
#[derive(Debug, Clone)]
pub struct ForOrder {
    pub shop: Shop,
    pub fee_bp: i32,
    pub running_show: Option<(i64, String)>,
}

impl ForOrder {
    /// The show an order placed now belongs to (see `live::model::pick_show_for_order`):
    /// the `requested` one if it is the running show in the shop's mode, else that
    /// running show, if any.
    pub fn show_for(
        &self,
        requested: Option<i64>,
    ) -> Result<Option<i64>, crate::live::model::ShowNotRunning> {
        crate::live::model::pick_show_for_order(
            self.running_show.as_ref().map(|(id, m)| (*id, m.as_str())),
            self.shop.mode().as_str(),
            requested,
        )
    }
}

/// The shop, the creator's platform, the running show's id and mode.
type ForOrderRow = (Shop, Option<String>, Option<i64>, Option<String>);

pub fn for_order(conn: &mut DbConn, handle: &str) -> QueryResult<Option<ForOrder>> {
    if !is_handle(handle) {
        return Ok(None);
    }
    if !crate::db::writer::may_defer() {
        return read_for_order(conn, handle);
    }
    // In a batch of placements (a sale: many orders for one shop), each shop is read once
    // per batch. The batch forgets it before any job that is not a placement runs. On
    // PostgreSQL a change committed elsewhere during a batch (a mode switch, a show
    // starting) reaches placements from the next batch, tens of milliseconds later.
    if let Some(found) = BATCH_SHOPS.with(|m| m.borrow().get(handle).cloned()) {
        return Ok(found);
    }
    let found = read_for_order(conn, handle)?;
    BATCH_SHOPS.with(|m| m.borrow_mut().insert(handle.to_string(), found.clone()));
    Ok(found)
}

thread_local! {
    /// The shops this thread's batch of placements read (see [`for_order`]).
    static BATCH_SHOPS: std::cell::RefCell<std::collections::HashMap<String, Option<ForOrder>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Forgets the shops the batch read: called when its placements' rows are written.
pub fn forget_batch_shops() {
    BATCH_SHOPS.with(|m| m.borrow_mut().clear());
}

fn read_for_order(conn: &mut DbConn, handle: &str) -> QueryResult<Option<ForOrder>> {
    use crate::db::schema::{creator_profiles, shows};
    // One running show per creator at most (a partial unique index), so at most one row.
    let row: Option<ForOrderRow> = on_backend!(conn, |c| {
        shops::table
            .left_join(creator_profiles::table.on(creator_profiles::user_id.eq(shops::user_id)))
            .left_join(
                shows::table.on(shows::user_id
                    .eq(shops::user_id)
                    .and(shows::status.eq(crate::live::model::RUNNING))),
            )
            .filter(shops::handle.eq(handle))
            .select((
                Shop::as_select(),
                creator_profiles::platform.nullable(),
                shows::id.nullable(),
                shows::mode.nullable(),
            ))
            .first(c)
            .optional()
    })?;
    Ok(row.map(|(shop, platform, show_id, show_mode)| ForOrder {
        shop,
        fee_bp: crate::matching::weights::platform_fee_bp(platform.as_deref()) as i32,
        running_show: show_id.zip(show_mode),
    }))
}

/// A handle from a display name: lowercase ASCII letters, digits and dashes, plus a
/// random tail so two "Lily"s do not collide and handles are not guessable in order.
fn handle_for(name: &str) -> String {
    let mut base: String = name
        .chars()
        .filter_map(|c| {
            if c.is_ascii_alphanumeric() {
                Some(c.to_ascii_lowercase())
            } else if c == ' ' || c == '-' || c == '_' {
                Some('-')
            } else {
                None
            }
        })
        .collect();
    base = base.trim_matches('-').to_string();
    while base.contains("--") {
        base = base.replace("--", "-");
    }
    base.truncate(20);
    let base = base.trim_end_matches('-');
    let base = if base.is_empty() { "shop" } else { base };
    let tail: String = (0..4)
        .map(|_| (b'a' + rand::rng().random_range(0..26u8)) as char)
        .collect();
    format!("{base}-{tail}")
}

/// Whether `/shop/<handle>` could name a shop (the URL parameter is checked first).
pub fn is_handle(text: &str) -> bool {
    (3..=40).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

pub fn find_by_handle(conn: &mut DbConn, handle: &str) -> QueryResult<Option<Shop>> {
    if !is_handle(handle) {
        return Ok(None);
    }
    // On the backend's own connection: every API order looks its shop up.
    on_backend!(conn, |c| {
        shops::table
            .filter(shops::handle.eq(handle))
            .select(Shop::as_select())
            .first(c)
            .optional()
    })
}

pub fn of_user(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<Shop>> {
    shops::table
        .find(user_id)
        .select(Shop::as_select())
        .first(conn)
        .optional()
}

/// The creator's shop, created in sandbox mode the first time it is needed.
pub fn ensure(conn: &mut DbConn, user_id: i64, now: NaiveDateTime) -> QueryResult<Shop> {
    if let Some(shop) = of_user(conn, user_id)? {
        return Ok(shop);
    }
    let name: String = users::table
        .find(user_id)
        .select(users::display_name)
        .first(conn)?;
    for _ in 0..5 {
        let inserted = diesel::insert_into(shops::table)
            .values((
                shops::user_id.eq(user_id),
                shops::handle.eq(handle_for(&name)),
                shops::mode.eq(Mode::Sandbox.as_str()),
                shops::created_at.eq(now),
                shops::updated_at.eq(now),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => break,
            // A handle taken, or another request created the shop: look again.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {
                if let Some(shop) = of_user(conn, user_id)? {
                    return Ok(shop);
                }
            }
            Err(e) => return Err(e),
        }
    }
    of_user(conn, user_id)?.ok_or(diesel::result::Error::NotFound)
}

/// Makes the shop public (graduation, or an administrator).
pub fn set_mode(
    conn: &mut DbConn,
    user_id: i64,
    mode: Mode,
    now: NaiveDateTime,
) -> QueryResult<Shop> {
    ensure(conn, user_id, now)?;
    diesel::update(shops::table.find(user_id))
        .set((shops::mode.eq(mode.as_str()), shops::updated_at.eq(now)))
        .execute(conn)?;
    of_user(conn, user_id)?.ok_or(diesel::result::Error::NotFound)
}

/// The creator's platform fee in basis points, from their profile.
pub fn fee_bp(conn: &mut DbConn, user_id: i64) -> QueryResult<i32> {
    use crate::db::schema::creator_profiles;
    let platform: Option<Option<String>> = on_backend!(conn, |c| {
        creator_profiles::table
            .find(user_id)
            .select(creator_profiles::platform)
            .first(c)
            .optional()
    })?;
    Ok(crate::matching::weights::platform_fee_bp(platform.flatten().as_deref()) as i32)
}

/// Products the demo shop sells.
const DEMO_SHOP_PRODUCTS: i64 = 6;

/// On a fresh demo (demo accounts and catalog created by this start), the demo trainee's
/// shop opens with six products of the demo supplier, so the buyer's and the supplier's
/// side can be tried at once: order at `/shop/<handle>`, fulfil as the demo supplier.
/// Returns the handle.
pub fn seed_demo(conn: &mut DbConn, now: NaiveDateTime) -> anyhow::Result<Option<String>> {
    use crate::catalog::model::supplier_of_user;
    use crate::db::schema::{products, skus};
    let trainee: Option<i64> = users::table
        .filter(users::email.eq("trainee@kaibo.example"))
        .filter(users::role.eq("trainee"))
        .select(users::id)
        .first(conn)
        .optional()?;
    let supplier_user: Option<i64> = users::table
        .filter(users::email.eq(crate::accounts::demo::DEMO_SUPPLIER_EMAIL))
        .select(users::id)
        .first(conn)
        .optional()?;
    let (Some(trainee), Some(supplier_user)) = (trainee, supplier_user) else {
        return Ok(None);
    };
    if of_user(conn, trainee)?.is_some() {
        return Ok(None);
    }
    let Some(supplier) = supplier_of_user(conn, supplier_user)? else {
        return Ok(None);
    };
    let picked: Vec<(i64, i64)> = products::table
        .filter(products::supplier_id.eq(supplier.id))
        .filter(
            products::id.eq_any(
                skus::table
                    .filter(skus::stock.gt(0))
                    .select(skus::product_id),
            ),
        )
        .order(products::id)
        .limit(DEMO_SHOP_PRODUCTS)
        .select((products::id, products::suggested_fen))
        .load(conn)?;
    crate::db::write_tx(conn, |conn| {
        for (product, price) in &picked {
            crate::selection::showcase::put(conn, trainee, *product, *price, now)
                .map_err(|e| anyhow::anyhow!("demo showcase: {e}"))?;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(Some(set_mode(conn, trainee, Mode::Live, now)?.handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_url_safe() {
        let h = handle_for("Lily Chen 莉莉!");
        assert!(h.starts_with("lily-chen-"), "{h}");
        assert!(is_handle(&h));
        assert!(handle_for("莉莉").starts_with("shop-"));
        assert!(!is_handle("../etc"));
        assert!(!is_handle("AB"));
    }
}
