-- Businesses, API keys, customers, conversations and messages.
-- Every tenant-owned table is keyed by (business_id, id): each lookup is scoped to
-- one business by its primary key, and foreign keys cannot cross businesses.
-- Ids are UUID v7 (they sort by creation time), times timestamptz (microseconds).

CREATE TABLE businesses (
    id              uuid        PRIMARY KEY,
    name            text        NOT NULL,
    whatsapp_sender text        NOT NULL,
    time_zone       text        NOT NULL,
    currency        text        NOT NULL,
    created_at      timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id          uuid        PRIMARY KEY,
    business_id uuid        NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    hash        bytea       NOT NULL CONSTRAINT api_keys_hash_key UNIQUE,
    label       text        NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

CREATE INDEX api_keys_by_business ON api_keys (business_id, id);

CREATE TABLE customers (
    business_id        uuid        NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id                 uuid        NOT NULL,
    phone              text        NOT NULL,
    name               text,
    -- Lower-cased name and phone, computed by the SDK so every backend searches alike.
    search_text        text        NOT NULL,
    -- Sorted, distinct; GIN-indexed for "has tag" filters and segments.
    tags               text[]      NOT NULL DEFAULT '{}',
    country            text,
    city               text,
    birthday_month     smallint,
    birthday_day       smallint,
    birthday_year      smallint,
    consent_status     text        NOT NULL,
    consent_changed_at timestamptz,
    consent_source     text,
    attributes         jsonb       NOT NULL DEFAULT '{}',
    first_seen_at      timestamptz,
    last_seen_at       timestamptz,
    last_inbound_at    timestamptz,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CONSTRAINT customers_pkey PRIMARY KEY (business_id, id),
    CONSTRAINT customers_phone_key UNIQUE (business_id, phone)
);

CREATE INDEX customers_tags ON customers USING gin (tags);

CREATE TABLE conversations (
    business_id     uuid        NOT NULL,
    id              uuid        NOT NULL,
    customer_id     uuid        NOT NULL,
    status          text        NOT NULL,
    assigned_agent  uuid,
    last_message_at timestamptz,
    last_inbound_at timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT conversations_pkey PRIMARY KEY (business_id, id),
    -- Lets messages reference (conversation, customer) together.
    CONSTRAINT conversations_customer_key UNIQUE (business_id, id, customer_id),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id) ON DELETE CASCADE
);

CREATE INDEX conversations_by_customer ON conversations (business_id, customer_id, id);
CREATE INDEX conversations_by_status ON conversations (business_id, status, id);

CREATE TABLE messages (
    business_id     uuid        NOT NULL,
    id              uuid        NOT NULL,
    conversation_id uuid        NOT NULL,
    customer_id     uuid        NOT NULL,
    direction       text        NOT NULL,
    kind            text        NOT NULL,
    content         jsonb       NOT NULL,
    status          text        NOT NULL,
    provider_id     text,
    error_code      bigint,
    queued_at       timestamptz,
    sent_at         timestamptz,
    delivered_at    timestamptz,
    read_at         timestamptz,
    failed_at       timestamptz,
    received_at     timestamptz,
    created_at      timestamptz NOT NULL,
    CONSTRAINT messages_pkey PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, conversation_id, customer_id)
        REFERENCES conversations (business_id, id, customer_id) ON DELETE CASCADE
);

CREATE INDEX messages_by_conversation ON messages (business_id, conversation_id, id);
-- Duplicate webhook deliveries and status callbacks find their message here.
CREATE UNIQUE INDEX messages_provider_id_key ON messages (business_id, provider_id)
    WHERE provider_id IS NOT NULL;
