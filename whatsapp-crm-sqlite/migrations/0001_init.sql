-- Businesses, API keys, customers with tags, conversations and messages.
-- Ids are 16-byte UUID v7 blobs (they sort by creation time); times are
-- microseconds since the Unix epoch. Every tenant-owned table is keyed by
-- (business_id, id), so every lookup is scoped to one business by its index.

CREATE TABLE businesses (
    id              BLOB    NOT NULL PRIMARY KEY,
    name            TEXT    NOT NULL,
    whatsapp_sender TEXT    NOT NULL,
    time_zone       TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id          BLOB    NOT NULL PRIMARY KEY,
    business_id BLOB    NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    hash        BLOB    NOT NULL UNIQUE,
    label       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;

CREATE INDEX api_keys_by_business ON api_keys (business_id, id);

CREATE TABLE customers (
    business_id        BLOB    NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id                 BLOB    NOT NULL,
    phone              TEXT    NOT NULL,
    name               TEXT,
    -- Lower-cased name and phone, computed by the SDK so every backend searches alike.
    search_text        TEXT    NOT NULL,
    country            TEXT,
    city               TEXT,
    birthday_month     INTEGER,
    birthday_day       INTEGER,
    birthday_year      INTEGER,
    consent_status     TEXT    NOT NULL,
    consent_changed_at INTEGER,
    consent_source     TEXT,
    attributes         TEXT    NOT NULL,
    first_seen_at      INTEGER,
    last_seen_at       INTEGER,
    last_inbound_at    INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, phone)
) STRICT, WITHOUT ROWID;

CREATE TABLE customer_tags (
    business_id BLOB NOT NULL,
    customer_id BLOB NOT NULL,
    tag         TEXT NOT NULL,
    PRIMARY KEY (business_id, customer_id, tag),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- "Customers with tag T" without scanning every customer.
CREATE INDEX customer_tags_by_tag ON customer_tags (business_id, tag, customer_id);

CREATE TABLE conversations (
    business_id     BLOB    NOT NULL,
    id              BLOB    NOT NULL,
    customer_id     BLOB    NOT NULL,
    status          TEXT    NOT NULL,
    assigned_agent  BLOB,
    last_message_at INTEGER,
    last_inbound_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (business_id, id),
    -- Lets messages reference (conversation, customer) together.
    UNIQUE (business_id, id, customer_id),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX conversations_by_customer ON conversations (business_id, customer_id, id);
CREATE INDEX conversations_by_status ON conversations (business_id, status, id);

CREATE TABLE messages (
    business_id     BLOB    NOT NULL,
    id              BLOB    NOT NULL,
    conversation_id BLOB    NOT NULL,
    customer_id     BLOB    NOT NULL,
    direction       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    content         TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    provider_id     TEXT,
    error_code      INTEGER,
    queued_at       INTEGER,
    sent_at         INTEGER,
    delivered_at    INTEGER,
    read_at         INTEGER,
    failed_at       INTEGER,
    received_at     INTEGER,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, conversation_id, customer_id)
        REFERENCES conversations (business_id, id, customer_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX messages_by_conversation ON messages (business_id, conversation_id, id);
-- Duplicate webhook deliveries and status callbacks find their message here.
CREATE UNIQUE INDEX messages_by_provider_id ON messages (business_id, provider_id)
    WHERE provider_id IS NOT NULL;
