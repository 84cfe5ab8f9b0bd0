-- The outbox: one row per outbound message, written before anything is sent.

CREATE TABLE outbox (
    business_id   BLOB    NOT NULL,
    message_id    BLOB    NOT NULL,
    sender        TEXT    NOT NULL,
    recipient     TEXT    NOT NULL,
    category      TEXT,
    run_at        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    state         TEXT    NOT NULL,
    claimed_until INTEGER,
    last_error    TEXT,
    error_code    INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (business_id, message_id),
    FOREIGN KEY (business_id, message_id) REFERENCES messages (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Dispatchers look only at due pending rows, and the sweeper at claimed ones.
CREATE INDEX outbox_due ON outbox (run_at, message_id) WHERE state = 'pending';
-- The marketing frequency cap counts a recipient's recent marketing sends.
CREATE INDEX outbox_marketing ON outbox (business_id, recipient, updated_at)
    WHERE category = 'marketing' AND state = 'sent';
CREATE INDEX outbox_claimed ON outbox (claimed_until) WHERE state IN ('claimed', 'sending');
