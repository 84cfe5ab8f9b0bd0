-- Message templates and their version history. The content of each version is
-- JSON (header, body, footer, buttons, samples); the latest version is kept on
-- the template row, every version in template_versions.

CREATE TABLE templates (
    business_id          BLOB    NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id                   BLOB    NOT NULL,
    name                 TEXT    NOT NULL,
    category             TEXT    NOT NULL,
    language             TEXT    NOT NULL,
    version              INTEGER NOT NULL,
    content              TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    provider_id          TEXT,
    rejection_reason     TEXT,
    approved_version     INTEGER,
    approved_provider_id TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    archived_at          INTEGER,
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, name, language)
) STRICT, WITHOUT ROWID;

CREATE INDEX templates_by_status ON templates (business_id, status, id);

CREATE TABLE template_versions (
    business_id      BLOB    NOT NULL,
    template_id      BLOB    NOT NULL,
    version          INTEGER NOT NULL,
    content          TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    provider_id      TEXT,
    rejection_reason TEXT,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (business_id, template_id, version),
    FOREIGN KEY (business_id, template_id) REFERENCES templates (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
