-- A WhatsApp number belongs to one business: webhooks find their tenant by it.
ALTER TABLE businesses ADD CONSTRAINT businesses_sender_key UNIQUE (whatsapp_sender);
-- Consent keywords and their replies; NULL means the defaults.
ALTER TABLE businesses ADD COLUMN keywords jsonb;

-- The sending limits' shared state, so every dispatcher spends one budget.
CREATE TABLE sender_limits (
    sender       text PRIMARY KEY,
    next_at      timestamptz,
    paused_until timestamptz
);

CREATE TABLE sender_recipients (
    sender    text        NOT NULL,
    recipient text        NOT NULL,
    pair_next timestamptz,
    tier_last timestamptz,
    PRIMARY KEY (sender, recipient)
);

CREATE INDEX sender_recipients_tier ON sender_recipients (sender, tier_last);
