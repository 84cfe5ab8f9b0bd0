-- Commerce: each business's commerce settings, the catalog with stock and
-- its search terms, carts, discount codes and their redemptions, what each
-- order holds of each product, each order's timeline, delivery method,
-- shipments with their reports, and the notices its customer was sent.

ALTER TABLE businesses ADD COLUMN commerce jsonb;

CREATE TABLE products (
    business_id  uuid        NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id           uuid        NOT NULL,
    sku          text        NOT NULL,
    name         text        NOT NULL,
    description  text,
    category     text,
    image_url    text,
    attributes   jsonb       NOT NULL,
    price_minor  bigint      NOT NULL,
    currency     text        NOT NULL,
    active       boolean     NOT NULL,
    track_stock  boolean     NOT NULL,
    on_hand      bigint      NOT NULL,
    reserved     bigint      NOT NULL,
    search_grams text[]      NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT products_pkey PRIMARY KEY (business_id, id),
    CONSTRAINT products_sku_key UNIQUE (business_id, sku),
    CONSTRAINT products_stock_check CHECK (reserved >= 0 AND reserved <= on_hand)
);

CREATE INDEX products_by_category ON products (business_id, category, id);
CREATE INDEX products_search ON products USING gin (search_grams);

CREATE TABLE carts (
    business_id   uuid        NOT NULL,
    id            uuid        NOT NULL,
    customer_id   uuid        NOT NULL,
    status        text        NOT NULL,
    lines         jsonb       NOT NULL,
    currency      text        NOT NULL,
    discount_code text,
    order_id      uuid,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT carts_pkey PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id) ON DELETE CASCADE
);

CREATE UNIQUE INDEX carts_open_key ON carts (business_id, customer_id) WHERE status = 'open';
CREATE INDEX carts_idle ON carts (updated_at) WHERE status = 'open';
CREATE INDEX carts_by_customer ON carts (business_id, customer_id, id);

CREATE TABLE discounts (
    business_id uuid        NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    code        text        NOT NULL,
    rules       jsonb       NOT NULL,
    uses        integer     NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT discounts_pkey PRIMARY KEY (business_id, id),
    CONSTRAINT discounts_code_key UNIQUE (business_id, code)
);

CREATE TABLE discount_redemptions (
    business_id uuid NOT NULL,
    discount_id uuid NOT NULL,
    customer_id uuid NOT NULL,
    order_id    uuid NOT NULL,
    PRIMARY KEY (business_id, discount_id, order_id),
    FOREIGN KEY (business_id, discount_id) REFERENCES discounts (business_id, id) ON DELETE CASCADE,
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id) ON DELETE CASCADE
);

CREATE INDEX redemptions_by_customer ON discount_redemptions (business_id, discount_id, customer_id);

ALTER TABLE orders ADD COLUMN cart_id uuid;
ALTER TABLE orders ADD COLUMN discount jsonb;
ALTER TABLE orders ADD COLUMN pay_by timestamptz;
ALTER TABLE orders ADD COLUMN delivery jsonb;

CREATE UNIQUE INDEX orders_cart_key ON orders (business_id, cart_id) WHERE cart_id IS NOT NULL;
CREATE INDEX orders_lapsing ON orders (pay_by) WHERE status = 'awaiting_payment';

CREATE TABLE order_stock (
    business_id uuid   NOT NULL,
    order_id    uuid   NOT NULL,
    product_id  uuid   NOT NULL,
    quantity    bigint NOT NULL,
    state       text   NOT NULL,
    PRIMARY KEY (business_id, order_id, product_id),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id) ON DELETE CASCADE
);

CREATE TABLE order_events (
    business_id uuid        NOT NULL,
    order_id    uuid        NOT NULL,
    seq         integer     NOT NULL,
    at          timestamptz NOT NULL,
    actor       text        NOT NULL,
    from_status text,
    to_status   text        NOT NULL,
    reason      text        NOT NULL,
    PRIMARY KEY (business_id, order_id, seq),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id) ON DELETE CASCADE
);

CREATE TABLE shipments (
    business_id     uuid        NOT NULL,
    id              uuid        NOT NULL,
    order_id        uuid        NOT NULL,
    carrier         text,
    tracking_number text,
    tracking_url    text,
    status          text        NOT NULL,
    status_at       timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id) ON DELETE CASCADE
);

CREATE INDEX shipments_by_order ON shipments (business_id, order_id, id);
CREATE UNIQUE INDEX shipments_tracking_key ON shipments (business_id, tracking_number)
    WHERE tracking_number IS NOT NULL;

-- A report's key (the partner's event id) is stored once per shipment.
CREATE TABLE shipment_events (
    business_id uuid        NOT NULL,
    shipment_id uuid        NOT NULL,
    key         text        NOT NULL,
    seq         bigint      GENERATED ALWAYS AS IDENTITY,
    status      text        NOT NULL,
    at          timestamptz NOT NULL,
    source      text        NOT NULL,
    applied     boolean     NOT NULL,
    PRIMARY KEY (business_id, shipment_id, key),
    FOREIGN KEY (business_id, shipment_id) REFERENCES shipments (business_id, id) ON DELETE CASCADE
);

-- At most one of each notice per order.
CREATE TABLE order_notices (
    business_id uuid        NOT NULL,
    order_id    uuid        NOT NULL,
    notice      text        NOT NULL,
    seq         bigint      GENERATED ALWAYS AS IDENTITY,
    message_id  uuid,
    skipped     text,
    at          timestamptz NOT NULL,
    PRIMARY KEY (business_id, order_id, notice),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id) ON DELETE CASCADE
);
