-- Message templates and their version history. The content of each version is
-- jsonb (header, body, footer, buttons, samples); the latest version is kept on
-- the template row, every version in template_versions.

CREATE TABLE templates (
    business_id          uuid        NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id                   uuid        NOT NULL,
    name                 text        NOT NULL,
    category             text        NOT NULL,
    language             text        NOT NULL,
    version              integer     NOT NULL,
    content              jsonb       NOT NULL,
    status               text        NOT NULL,
    provider_id          text,
    rejection_reason     text,
    approved_version     integer,
    approved_provider_id text,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    archived_at          timestamptz,
    CONSTRAINT templates_pkey PRIMARY KEY (business_id, id),
    CONSTRAINT templates_name_key UNIQUE (business_id, name, language)
);

CREATE INDEX templates_by_status ON templates (business_id, status, id);

CREATE TABLE template_versions (
    business_id      uuid        NOT NULL,
    template_id      uuid        NOT NULL,
    version          integer     NOT NULL,
    content          jsonb       NOT NULL,
    status           text        NOT NULL,
    provider_id      text,
    rejection_reason text,
    created_at       timestamptz NOT NULL,
    CONSTRAINT template_versions_pkey PRIMARY KEY (business_id, template_id, version),
    FOREIGN KEY (business_id, template_id) REFERENCES templates (business_id, id) ON DELETE CASCADE
);
