-- Payments: attempts at paying orders through a provider, the provider
-- events behind them (each kept once per provider, reference and kind),
-- receipts, and each order's payment link with its reminders.

CREATE TABLE payments (
    business_id        BLOB    NOT NULL,
    id                 BLOB    NOT NULL,
    order_id           BLOB    NOT NULL,
    customer_id        BLOB    NOT NULL,
    provider           TEXT    NOT NULL,
    amount_minor       INTEGER NOT NULL,
    currency           TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    provider_reference TEXT,
    receipt            TEXT,
    paid_minor         INTEGER,
    phone              TEXT,
    checkout_url       TEXT,
    failure            TEXT,
    flags              TEXT    NOT NULL,
    callback_token     BLOB,
    checks             INTEGER NOT NULL,
    next_check_at      INTEGER,
    receipt_message_id BLOB,
    receipt_skipped    TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    settled_at         INTEGER,
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX payments_by_order ON payments (business_id, order_id, id);
-- Providers make their references unique (M-Pesa's CheckoutRequestID, our
-- Paystack references hold the attempt's id); a callback finds its attempt
-- by reference before it knows the business.
CREATE UNIQUE INDEX payments_by_reference ON payments (business_id, provider, provider_reference)
    WHERE provider_reference IS NOT NULL;
CREATE INDEX payments_find_reference ON payments (provider, provider_reference)
    WHERE provider_reference IS NOT NULL;
CREATE UNIQUE INDEX payments_by_callback_token ON payments (callback_token)
    WHERE callback_token IS NOT NULL;
CREATE INDEX payments_due ON payments (next_check_at)
    WHERE status IN ('pending', 'prompted');

CREATE TABLE payment_events (
    business_id BLOB    NOT NULL,
    payment_id  BLOB    NOT NULL,
    provider    TEXT    NOT NULL,
    reference   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    outcome     TEXT,
    amount_minor INTEGER,
    currency    TEXT,
    raw         TEXT    NOT NULL,
    flag        TEXT,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (business_id, provider, reference, kind),
    FOREIGN KEY (business_id, payment_id) REFERENCES payments (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX payment_events_by_payment ON payment_events (business_id, payment_id, seq);

CREATE TABLE payment_links (
    business_id      BLOB    NOT NULL,
    order_id         BLOB    NOT NULL,
    token            TEXT    NOT NULL,
    url              TEXT    NOT NULL,
    expires_at       INTEGER NOT NULL,
    sent_at          INTEGER NOT NULL,
    reminders_sent   INTEGER NOT NULL,
    next_reminder_at INTEGER,
    PRIMARY KEY (business_id, order_id),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX payment_links_due ON payment_links (next_reminder_at)
    WHERE next_reminder_at IS NOT NULL;
