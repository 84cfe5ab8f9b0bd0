-- Orders, whose paid and fulfilled totals drive each customer's figures, and the
-- index inbound-message engagement counts use.

CREATE TABLE orders (
    business_id uuid        NOT NULL,
    id          uuid        NOT NULL,
    customer_id uuid        NOT NULL,
    items       jsonb       NOT NULL,
    total_minor bigint      NOT NULL,
    currency    text        NOT NULL,
    status      text        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT orders_pkey PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id) ON DELETE CASCADE
);

CREATE INDEX orders_by_customer ON orders (business_id, customer_id, created_at);
CREATE INDEX orders_by_status ON orders (business_id, status, id);
CREATE INDEX messages_by_customer ON messages (business_id, customer_id, direction, created_at);
