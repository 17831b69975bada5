//! A creator with a shop and a showcase, ready to take orders: the starting point of the
//! order-flow tests. Setup goes through the services (as a trainee's earlier steps
//! would have); everything a test checks goes through HTTP.

use diesel::prelude::*;
use kaibo::accounts::domain::{Email, Role};
use kaibo::accounts::users;
use kaibo::db::schema::{app_secrets, products, skus, suppliers};
use kaibo::orders::Mode;
use kaibo::orders::links::LinkKey;
use kaibo::orders::shop;
use kaibo::selection::showcase;

use crate::helpers::*;
use crate::selection::{beauty_profile, sandbox_app, unlock};

#[derive(Debug, Clone)]
pub struct FixtureProduct {
    pub product_id: i64,
    pub sku_id: i64,
    pub supplier_id: i64,
    pub price_fen: i64,
    pub stock: i32,
}

pub struct ShopFixture {
    pub app: TestApp,
    /// The creator, logged in.
    pub creator: reqwest::Client,
    pub creator_email: String,
    pub creator_id: i64,
    pub handle: String,
    /// `Authorization: Bearer` value that lets the simulation order from a sandbox shop.
    pub sandbox_token: String,
    /// Showcase products, each from a different supplier, with their first SKU.
    pub products: Vec<FixtureProduct>,
}

/// A shop in `mode` with `count` showcase products from `count` different suppliers,
/// over a generated catalog of 400 SKUs.
pub async fn shop_fixture(mode: Mode, count: usize) -> ShopFixture {
    let app = sandbox_app(400).await;
    let creator_email = app.create_user(Role::Trainee);
    let creator = new_client();
    let r = app.login_with(&creator, &creator_email, PASSWORD).await;
    assert_eq!(r.status(), 303);
    unlock(&app, &creator, true).await;
    beauty_profile(&app, &creator).await;
    let mut conn = app.pool.get().unwrap();
    let creator_id = users::find_by_email(&mut conn, &Email::parse(&creator_email).unwrap())
        .unwrap()
        .unwrap()
        .id;
    let supplier_ids: Vec<i64> = suppliers::table
        .select(suppliers::id)
        .order(suppliers::id)
        .load(&mut conn)
        .unwrap();
    let mut picked = Vec::new();
    for supplier_id in supplier_ids {
        if picked.len() == count {
            break;
        }
        let row: Option<(i64, i64, i64, i32)> = skus::table
            .inner_join(products::table)
            .filter(skus::supplier_id.eq(supplier_id))
            .filter(skus::stock.gt(20))
            .order(skus::id)
            .select((products::id, skus::id, products::suggested_fen, skus::stock))
            .first(&mut conn)
            .optional()
            .unwrap();
        if let Some((product_id, sku_id, price_fen, stock)) = row {
            picked.push(FixtureProduct {
                product_id,
                sku_id,
                supplier_id,
                price_fen,
                stock,
            });
        }
    }
    assert_eq!(picked.len(), count, "enough suppliers with stock");
    let now = app.clock_now();
    for p in &picked {
        showcase::put(&mut conn, creator_id, p.product_id, p.price_fen, now).unwrap();
    }
    let shop = shop::set_mode(&mut conn, creator_id, mode, now).unwrap();
    let secret: String = app_secrets::table
        .find("order_links")
        .select(app_secrets::value)
        .first(&mut conn)
        .unwrap();
    let sandbox_token = LinkKey::from_hex(&secret)
        .unwrap()
        .sandbox_token(creator_id);
    drop(conn);
    ShopFixture {
        app,
        creator,
        creator_email,
        creator_id,
        handle: shop.handle,
        sandbox_token,
        products: picked,
    }
}

impl ShopFixture {
    /// An order body for the JSON API: `lines` as (sku, quantity).
    pub fn order_json(
        &self,
        lines: &[(i64, i64)],
        payment: serde_json::Value,
    ) -> serde_json::Value {
        serde_json::json!({
            "shop": self.handle,
            "lines": lines.iter().map(|(sku, q)| serde_json::json!({"sku_id": sku, "quantity": q})).collect::<Vec<_>>(),
            "buyer": {"name": "Li Na", "phone": "+86 138 0013 8000", "address": "1 Nanjing Road, Huangpu, Shanghai"},
            "payment": payment,
        })
    }

    /// Posts an order to `/api/orders` with an idempotency key (and the sandbox token
    /// for a sandbox shop).
    pub async fn post_order(&self, key: &str, body: &serde_json::Value) -> reqwest::Response {
        self.post_order_with(&self.app.client, key, body).await
    }

    pub async fn post_order_with(
        &self,
        client: &reqwest::Client,
        key: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        client
            .post(self.app.url("/api/orders"))
            .header("Idempotency-Key", key)
            .bearer_auth(&self.sandbox_token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Places a paid order of one unit of the first product; returns its JSON.
    pub async fn paid_order(&self, key: &str) -> serde_json::Value {
        let body = self.order_json(
            &[(self.products[0].sku_id, 1)],
            serde_json::json!({"method": "cod"}),
        );
        let r = self.post_order(key, &body).await;
        assert_eq!(r.status(), 201, "order placed");
        r.json().await.unwrap()
    }

    pub fn stock(&self, sku_id: i64) -> i32 {
        skus::table
            .find(sku_id)
            .select(skus::stock)
            .first(&mut self.app.pool.get().unwrap())
            .unwrap()
    }
}
