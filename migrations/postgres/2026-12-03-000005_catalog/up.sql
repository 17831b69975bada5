-- The supplier catalog: suppliers, products, SKUs, platform statistics, and the
-- showcase each creator builds from it. Money is in fen (minor units), rates in basis
-- points (1/100 of a percent), so nothing here is a float.

CREATE TABLE suppliers (
    id BIGINT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- A supplier account that manages this supplier in the portal, if any.
    user_id BIGINT UNIQUE REFERENCES users (id) ON DELETE SET NULL,
    region TEXT NOT NULL,
    rating_centi INTEGER NOT NULL,
    handling_hours INTEGER NOT NULL,
    reliability_bp INTEGER NOT NULL,
    return_days INTEGER NOT NULL,
    return_policy TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE products (
    id BIGINT PRIMARY KEY NOT NULL,
    supplier_id BIGINT NOT NULL REFERENCES suppliers (id) ON DELETE CASCADE,
    -- The supplier's own reference, unique per supplier (the CSV's product_ref).
    product_ref TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    category TEXT NOT NULL,
    tags TEXT NOT NULL,
    image_url TEXT,
    cost_fen BIGINT NOT NULL,
    suggested_fen BIGINT NOT NULL,
    min_price_fen BIGINT NOT NULL,
    commission_bp INTEGER NOT NULL,
    currency TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (supplier_id, product_ref)
);

CREATE TABLE skus (
    id BIGINT PRIMARY KEY NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    supplier_id BIGINT NOT NULL REFERENCES suppliers (id) ON DELETE CASCADE,
    sku_code TEXT NOT NULL,
    size TEXT,
    colour TEXT,
    stock INTEGER NOT NULL,
    weight_g INTEGER NOT NULL,
    UNIQUE (supplier_id, sku_code)
);
CREATE INDEX skus_product ON skus (product_id);

-- Views, orders and returns per product and audience segment (`all`, or gender and
-- age band such as `f25-34`). Seeded by the generator; orders update it later.
CREATE TABLE product_stats (
    product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    segment TEXT NOT NULL,
    views BIGINT NOT NULL,
    orders BIGINT NOT NULL,
    returns BIGINT NOT NULL,
    PRIMARY KEY (product_id, segment)
);

-- One row, bumped by every catalog change, so each instance knows when to reload its
-- in-memory matching index.
CREATE TABLE catalog_state (
    id INTEGER PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The products a creator presents, with the price they chose.
CREATE TABLE showcase_items (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    price_fen BIGINT NOT NULL,
    added_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, product_id)
);
CREATE INDEX showcase_items_product ON showcase_items (product_id);
