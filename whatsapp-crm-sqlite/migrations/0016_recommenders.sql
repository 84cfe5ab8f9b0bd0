-- Each business's recommendation model, and when the build read the orders
-- (orders changed later make it stale).
CREATE TABLE recommenders (
    business_id BLOB    NOT NULL PRIMARY KEY REFERENCES businesses (id) ON DELETE CASCADE,
    built_at    INTEGER NOT NULL,
    info        TEXT    NOT NULL,
    model       BLOB    NOT NULL
) STRICT, WITHOUT ROWID;
