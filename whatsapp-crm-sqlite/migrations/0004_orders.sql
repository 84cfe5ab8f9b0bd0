-- Orders, whose paid and fulfilled totals drive each customer's figures, and the
-- index inbound-message engagement counts use.

CREATE TABLE orders (
    business_id BLOB    NOT NULL,
    id          BLOB    NOT NULL,
    customer_id BLOB    NOT NULL,
    items       TEXT    NOT NULL,
    total_minor INTEGER NOT NULL,
    currency    TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX orders_by_customer ON orders (business_id, customer_id, created_at);
CREATE INDEX orders_by_status ON orders (business_id, status, id);
CREATE INDEX messages_by_customer ON messages (business_id, customer_id, direction, created_at);
