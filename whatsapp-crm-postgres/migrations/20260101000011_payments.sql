-- Payments: attempts at paying orders through a provider, the provider
-- events behind them (each kept once per provider, reference and kind),
-- receipts, and each order's payment link with its reminders.

CREATE TABLE payments (
    business_id        uuid        NOT NULL,
    id                 uuid        NOT NULL,
    order_id           uuid        NOT NULL,
    customer_id        uuid        NOT NULL,
    provider           text        NOT NULL,
    amount_minor       bigint      NOT NULL,
    currency           text        NOT NULL,
    status             text        NOT NULL,
    provider_reference text,
    receipt            text,
    paid_minor         bigint,
    phone              text,
    checkout_url       text,
    failure            text,
    flags              jsonb       NOT NULL,
    callback_token     bytea,
    checks             integer     NOT NULL,
    next_check_at      timestamptz,
    receipt_message_id uuid,
    receipt_skipped    text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    settled_at         timestamptz,
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id) ON DELETE CASCADE
);

CREATE INDEX payments_by_order ON payments (business_id, order_id, id);
-- Providers make their references unique (M-Pesa's CheckoutRequestID, our
-- Paystack references hold the attempt's id); a callback finds its attempt
-- by reference before it knows the business.
CREATE UNIQUE INDEX payments_reference_key ON payments (business_id, provider, provider_reference)
    WHERE provider_reference IS NOT NULL;
CREATE INDEX payments_find_reference ON payments (provider, provider_reference)
    WHERE provider_reference IS NOT NULL;
CREATE INDEX payments_find_token ON payments (callback_token) WHERE callback_token IS NOT NULL;
CREATE INDEX payments_due ON payments (next_check_at) WHERE status IN ('pending', 'prompted');

CREATE TABLE payment_events (
    business_id  uuid        NOT NULL,
    payment_id   uuid        NOT NULL,
    provider     text        NOT NULL,
    reference    text        NOT NULL,
    kind         text        NOT NULL,
    seq          bigint      GENERATED ALWAYS AS IDENTITY,
    outcome      text,
    amount_minor bigint,
    currency     text,
    raw          text        NOT NULL,
    flag         text,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (business_id, provider, reference, kind),
    FOREIGN KEY (business_id, payment_id) REFERENCES payments (business_id, id) ON DELETE CASCADE
);

CREATE INDEX payment_events_by_payment ON payment_events (business_id, payment_id, seq);

CREATE TABLE payment_links (
    business_id      uuid        NOT NULL,
    order_id         uuid        NOT NULL,
    token            text        NOT NULL,
    url              text        NOT NULL,
    expires_at       timestamptz NOT NULL,
    sent_at          timestamptz NOT NULL,
    reminders_sent   integer     NOT NULL,
    next_reminder_at timestamptz,
    PRIMARY KEY (business_id, order_id),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id) ON DELETE CASCADE
);

CREATE INDEX payment_links_due ON payment_links (next_reminder_at) WHERE next_reminder_at IS NOT NULL;
