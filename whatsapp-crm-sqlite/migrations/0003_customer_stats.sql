-- Purchase and engagement figures kept on each customer for segments, and the
-- lower-cased city the SDK computes (SQLite's lower() folds only ASCII).

ALTER TABLE customers ADD COLUMN total_spent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN order_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN last_order_at INTEGER;
ALTER TABLE customers ADD COLUMN engagement_score INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN city_key TEXT;

CREATE INDEX customers_by_city ON customers (business_id, city_key);
