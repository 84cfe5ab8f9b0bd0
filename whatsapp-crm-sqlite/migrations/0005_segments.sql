-- Saved customer segments: a named rule per business.

CREATE TABLE segments (
    business_id BLOB    NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id          BLOB    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT,
    rule        TEXT    NOT NULL,
    rule_text   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, name)
) STRICT, WITHOUT ROWID;
