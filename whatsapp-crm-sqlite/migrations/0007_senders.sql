-- A WhatsApp number belongs to one business: webhooks find their tenant by it.
CREATE UNIQUE INDEX businesses_sender ON businesses (whatsapp_sender);
-- Consent keywords and their replies as JSON; NULL means the defaults.
ALTER TABLE businesses ADD COLUMN keywords TEXT;

-- The sending limits' shared state, so every dispatcher spends one budget.
CREATE TABLE sender_limits (
    sender       TEXT NOT NULL PRIMARY KEY,
    next_at      INTEGER,
    paused_until INTEGER
) STRICT, WITHOUT ROWID;

CREATE TABLE sender_recipients (
    sender    TEXT NOT NULL,
    recipient TEXT NOT NULL,
    pair_next INTEGER,
    -- 0 when the recipient never counted against the tier.
    tier_last INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (sender, recipient)
) STRICT, WITHOUT ROWID;

CREATE INDEX sender_recipients_tier ON sender_recipients (sender, tier_last);
