-- Purchase and engagement figures kept on each customer for segments, and the
-- lower-cased city the SDK computes, so every backend compares cities alike.

ALTER TABLE customers
    ADD COLUMN total_spent      bigint   NOT NULL DEFAULT 0,
    ADD COLUMN order_count      integer  NOT NULL DEFAULT 0,
    ADD COLUMN last_order_at    timestamptz,
    ADD COLUMN engagement_score smallint NOT NULL DEFAULT 0,
    ADD COLUMN city_key         text;

CREATE INDEX customers_by_city ON customers (business_id, city_key);
