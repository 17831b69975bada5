-- The order flow, one for sandbox and live: shops, flash deals, orders and their lines,
-- supplier orders, payments, after-sales cases, the event log, the outbox that notifies
-- suppliers, supplier API keys and idempotency records. Every order-flow record carries
-- `mode` (sandbox | live). Money in fen, never floats.

-- One shop per creator; `handle` is the public name in /shop/<handle>.
CREATE TABLE shops (
    user_id BIGINT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    handle TEXT NOT NULL UNIQUE,
    mode TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A time-limited deal on one SKU of a showcase product: its own price, quantity and
-- per-buyer limit. `sold` is taken with a conditional update, like stock.
CREATE TABLE flash_deals (
    id BIGSERIAL PRIMARY KEY,
    shop_user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sku_id BIGINT NOT NULL REFERENCES skus (id) ON DELETE CASCADE,
    mode TEXT NOT NULL,
    price_fen BIGINT NOT NULL,
    quantity INTEGER NOT NULL,
    sold INTEGER NOT NULL,
    per_buyer_limit INTEGER NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX flash_deals_shop ON flash_deals (shop_user_id, ends_at);

-- Units a buyer (by normalised phone) has bought under a deal, for the per-buyer limit.
CREATE TABLE deal_purchases (
    deal_id BIGINT NOT NULL REFERENCES flash_deals (id) ON DELETE CASCADE,
    buyer_key TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    PRIMARY KEY (deal_id, buyer_key)
);

CREATE TABLE orders (
    id BIGSERIAL PRIMARY KEY,
    -- The reference shown to people (random, not the row id).
    reference TEXT NOT NULL UNIQUE,
    -- SHA-256 of the secret in the buyer's order link.
    access_hash TEXT NOT NULL UNIQUE,
    shop_user_id BIGINT NOT NULL REFERENCES users (id),
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    buyer_name TEXT NOT NULL,
    buyer_phone TEXT NOT NULL,
    buyer_address TEXT NOT NULL,
    buyer_key TEXT NOT NULL,
    -- The audience segment of the buyer when known (simulated buyers), for statistics.
    buyer_segment TEXT,
    payment_method TEXT NOT NULL,
    card_last4 TEXT,
    currency TEXT NOT NULL,
    total_fen BIGINT NOT NULL,
    paid_fen BIGINT NOT NULL,
    refunded_fen BIGINT NOT NULL,
    commission_fen BIGINT NOT NULL,
    -- What the creator keeps: resale margin less the platform fee, plus commission.
    earnings_fen BIGINT NOT NULL,
    -- The platform fee on the selling price, in basis points, fixed at placement.
    fee_bp INTEGER NOT NULL,
    -- A live show this order came from (the live sandbox sets it).
    show_id BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX orders_shop ON orders (shop_user_id, created_at);

-- One supplier's part of an order.
CREATE TABLE supplier_orders (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    supplier_id BIGINT NOT NULL REFERENCES suppliers (id),
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    total_fen BIGINT NOT NULL,
    carrier TEXT,
    tracking TEXT,
    reject_reason TEXT,
    -- When the outbox delivered it to the supplier (their "new orders" list).
    notified_at TIMESTAMP,
    shipped_at TIMESTAMP,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX supplier_orders_supplier ON supplier_orders (supplier_id, status, created_at);
CREATE INDEX supplier_orders_order ON supplier_orders (order_id);

CREATE TABLE order_lines (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    supplier_order_id BIGINT REFERENCES supplier_orders (id),
    product_id BIGINT NOT NULL REFERENCES products (id),
    sku_id BIGINT NOT NULL REFERENCES skus (id),
    supplier_id BIGINT NOT NULL REFERENCES suppliers (id),
    deal_id BIGINT REFERENCES flash_deals (id),
    title TEXT NOT NULL,
    sku_label TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price_fen BIGINT NOT NULL,
    unit_cost_fen BIGINT NOT NULL,
    commission_bp INTEGER NOT NULL,
    refunded_fen BIGINT NOT NULL,
    returned_quantity INTEGER NOT NULL
);
CREATE INDEX order_lines_order ON order_lines (order_id);

-- Every gateway call and its result.
CREATE TABLE payments (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    mode TEXT NOT NULL,
    gateway TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    succeeded BOOLEAN NOT NULL,
    reference TEXT,
    error_code TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX payments_order ON payments (order_id);

-- After-sales cases, one per request on an order line.
CREATE TABLE after_sales (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_id BIGINT NOT NULL REFERENCES order_lines (id) ON DELETE CASCADE,
    supplier_order_id BIGINT NOT NULL REFERENCES supplier_orders (id),
    supplier_id BIGINT NOT NULL REFERENCES suppliers (id),
    shop_user_id BIGINT NOT NULL REFERENCES users (id),
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    reason TEXT NOT NULL,
    reject_reason TEXT,
    return_carrier TEXT,
    return_tracking TEXT,
    refund_fen BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX after_sales_supplier ON after_sales (supplier_id, status);
CREATE INDEX after_sales_shop ON after_sales (shop_user_id, status);

-- The creator's notes on an after-sales case.
CREATE TABLE case_notes (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES after_sales (id) ON DELETE CASCADE,
    author_id BIGINT NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- The append-only history of every order, supplier order and case.
CREATE TABLE order_events (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    supplier_order_id BIGINT,
    case_id BIGINT,
    mode TEXT NOT NULL,
    entity TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id, id);

-- Messages to suppliers, written in the transaction that routes an order and delivered
-- afterwards, at least once; `supplier_inbox` makes applying one twice a no-op.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    topic TEXT NOT NULL,
    supplier_order_id BIGINT NOT NULL REFERENCES supplier_orders (id) ON DELETE CASCADE,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    available_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_pending ON outbox (delivered_at, available_at);

CREATE TABLE supplier_inbox (
    message_id BIGINT PRIMARY KEY NOT NULL,
    supplier_id BIGINT NOT NULL REFERENCES suppliers (id),
    supplier_order_id BIGINT NOT NULL REFERENCES supplier_orders (id) ON DELETE CASCADE,
    received_at TIMESTAMP NOT NULL
);

-- API keys for suppliers' own systems; only a hash of the secret is kept.
CREATE TABLE supplier_api_keys (
    id BIGSERIAL PRIMARY KEY,
    supplier_id BIGINT NOT NULL REFERENCES suppliers (id) ON DELETE CASCADE,
    prefix TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);

-- Idempotency keys of order placement, per shop: the request's hash and its order.
CREATE TABLE idempotency_keys (
    shop_user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id BIGINT REFERENCES orders (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (shop_user_id, key)
);

-- Deliveries feed the statistics matching reads (return rate over delivered orders).
ALTER TABLE product_stats ADD COLUMN delivered BIGINT NOT NULL DEFAULT 0;
