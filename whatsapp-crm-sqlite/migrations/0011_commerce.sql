-- Commerce: each business's commerce settings, the catalog with stock and
-- its search index, carts, discount codes and their redemptions, what each
-- order holds of each product, each order's timeline, delivery method,
-- shipments with their reports, and the notices its customer was sent.

ALTER TABLE businesses ADD COLUMN commerce TEXT;

-- `search_key` is the rowid (an alias, so VACUUM keeps it) the search index
-- is keyed by.
CREATE TABLE products (
    search_key  INTEGER PRIMARY KEY,
    business_id BLOB    NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id          BLOB    NOT NULL,
    sku         TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT,
    category    TEXT,
    image_url   TEXT,
    attributes  TEXT    NOT NULL,
    price_minor INTEGER NOT NULL,
    currency    TEXT    NOT NULL,
    active      INTEGER NOT NULL,
    track_stock INTEGER NOT NULL,
    on_hand     INTEGER NOT NULL,
    reserved    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (business_id, id),
    UNIQUE (business_id, sku),
    CHECK (reserved >= 0 AND reserved <= on_hand)
) STRICT;

CREATE INDEX products_by_category ON products (business_id, category, id);

-- One row per product: its business as a term, then its padded trigrams,
-- so a search is one posting-list intersection inside the tenant.
CREATE VIRTUAL TABLE product_search USING fts5(grams, tokenize = "unicode61 tokenchars '_'");

CREATE TABLE carts (
    business_id   BLOB    NOT NULL,
    id            BLOB    NOT NULL,
    customer_id   BLOB    NOT NULL,
    status        TEXT    NOT NULL,
    lines         TEXT    NOT NULL,
    currency      TEXT    NOT NULL,
    discount_code TEXT,
    order_id      BLOB,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX carts_open_per_customer ON carts (business_id, customer_id) WHERE status = 'open';
CREATE INDEX carts_by_customer ON carts (business_id, customer_id, id);
CREATE INDEX carts_idle ON carts (updated_at) WHERE status = 'open';

CREATE TABLE discounts (
    business_id BLOB    NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id          BLOB    NOT NULL,
    code        TEXT    NOT NULL,
    rules       TEXT    NOT NULL,
    uses        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, code)
) STRICT, WITHOUT ROWID;

CREATE TABLE discount_redemptions (
    business_id BLOB NOT NULL,
    discount_id BLOB NOT NULL,
    customer_id BLOB NOT NULL,
    order_id    BLOB NOT NULL,
    PRIMARY KEY (business_id, discount_id, order_id),
    FOREIGN KEY (business_id, discount_id) REFERENCES discounts (business_id, id) ON DELETE CASCADE,
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX redemptions_by_customer ON discount_redemptions (business_id, discount_id, customer_id);

ALTER TABLE orders ADD COLUMN cart_id BLOB;
ALTER TABLE orders ADD COLUMN discount TEXT;
ALTER TABLE orders ADD COLUMN pay_by INTEGER;
ALTER TABLE orders ADD COLUMN delivery TEXT;

CREATE UNIQUE INDEX orders_by_cart ON orders (business_id, cart_id) WHERE cart_id IS NOT NULL;
CREATE INDEX orders_lapsing ON orders (pay_by) WHERE status = 'awaiting_payment';

CREATE TABLE order_stock (
    business_id BLOB    NOT NULL,
    order_id    BLOB    NOT NULL,
    product_id  BLOB    NOT NULL,
    quantity    INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    PRIMARY KEY (business_id, order_id, product_id),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE order_events (
    business_id BLOB    NOT NULL,
    order_id    BLOB    NOT NULL,
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    PRIMARY KEY (business_id, order_id, seq),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE shipments (
    business_id     BLOB    NOT NULL,
    id              BLOB    NOT NULL,
    order_id        BLOB    NOT NULL,
    carrier         TEXT,
    tracking_number TEXT,
    tracking_url    TEXT,
    status          TEXT    NOT NULL,
    status_at       INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX shipments_by_order ON shipments (business_id, order_id, id);
CREATE UNIQUE INDEX shipments_by_tracking ON shipments (business_id, tracking_number)
    WHERE tracking_number IS NOT NULL;

-- A report's key (the partner's event id) is stored once per shipment.
CREATE TABLE shipment_events (
    business_id BLOB    NOT NULL,
    shipment_id BLOB    NOT NULL,
    key         TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    applied     INTEGER NOT NULL,
    PRIMARY KEY (business_id, shipment_id, key),
    FOREIGN KEY (business_id, shipment_id) REFERENCES shipments (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- At most one of each notice per order.
CREATE TABLE order_notices (
    business_id BLOB    NOT NULL,
    order_id    BLOB    NOT NULL,
    notice      TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    message_id  BLOB,
    skipped     TEXT,
    at          INTEGER NOT NULL,
    PRIMARY KEY (business_id, order_id, notice),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
