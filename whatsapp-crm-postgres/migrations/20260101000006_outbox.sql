-- The outbox: one row per outbound message, written before anything is sent.

CREATE TABLE outbox (
    business_id   uuid        NOT NULL,
    message_id    uuid        NOT NULL,
    sender        text        NOT NULL,
    recipient     text        NOT NULL,
    category      text,
    run_at        timestamptz NOT NULL,
    attempts      integer     NOT NULL DEFAULT 0,
    state         text        NOT NULL,
    claimed_until timestamptz,
    last_error    text,
    error_code    bigint,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT outbox_pkey PRIMARY KEY (business_id, message_id),
    FOREIGN KEY (business_id, message_id) REFERENCES messages (business_id, id) ON DELETE CASCADE
);

-- Dispatchers look only at due pending rows, and the sweeper at claimed ones.
CREATE INDEX outbox_due ON outbox (run_at, message_id) WHERE state = 'pending';
-- The marketing frequency cap counts a recipient's recent marketing sends.
CREATE INDEX outbox_marketing ON outbox (business_id, recipient, updated_at)
    WHERE category = 'marketing' AND state = 'sent';
CREATE INDEX outbox_claimed ON outbox (claimed_until) WHERE state IN ('claimed', 'sending');
