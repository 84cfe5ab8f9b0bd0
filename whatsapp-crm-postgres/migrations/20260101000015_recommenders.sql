-- Each business's recommendation model, and when the build read the orders
-- (orders changed later make it stale).
CREATE TABLE recommenders (
    business_id uuid        NOT NULL PRIMARY KEY REFERENCES businesses (id) ON DELETE CASCADE,
    built_at    timestamptz NOT NULL,
    info        jsonb       NOT NULL,
    model       bytea       NOT NULL
);
