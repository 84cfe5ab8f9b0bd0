-- Saved customer segments: a named rule per business.

CREATE TABLE segments (
    business_id uuid        NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    name        text        NOT NULL,
    description text,
    rule        jsonb       NOT NULL,
    rule_text   text        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT segments_pkey PRIMARY KEY (business_id, id),
    CONSTRAINT segments_name_key UNIQUE (business_id, name)
);
