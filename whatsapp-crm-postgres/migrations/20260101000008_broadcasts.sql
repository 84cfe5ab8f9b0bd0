-- Broadcasts: one approved template sent to an audience.

CREATE TABLE broadcasts (
    business_id     uuid        NOT NULL,
    id              uuid        NOT NULL,
    template_id     uuid        NOT NULL,
    name            text        NOT NULL,
    -- Variables, audience and auto-pause rules.
    spec            jsonb       NOT NULL,
    send_at         timestamptz,
    status          text        NOT NULL,
    pause_reason    text,
    recipients      integer     NOT NULL DEFAULT 0,
    queued          integer     NOT NULL DEFAULT 0,
    skipped         integer     NOT NULL DEFAULT 0,
    launch_cursor   uuid,
    launch_complete boolean     NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    launched_at     timestamptz,
    finished_at     timestamptz,
    campaign_id     uuid,
    CONSTRAINT broadcasts_pkey PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, template_id) REFERENCES templates (business_id, id) ON DELETE CASCADE
);

-- Workers look only at broadcasts with work to do.
CREATE INDEX broadcasts_active ON broadcasts (status, send_at)
    WHERE status IN ('scheduled', 'launching', 'sending');

-- Who each broadcast reached: their message, or why they got none.
CREATE TABLE broadcast_recipients (
    business_id  uuid NOT NULL,
    broadcast_id uuid NOT NULL,
    customer_id  uuid NOT NULL,
    message_id   uuid,
    skipped      text,
    variant      smallint,
    PRIMARY KEY (business_id, broadcast_id, customer_id),
    FOREIGN KEY (business_id, broadcast_id) REFERENCES broadcasts (business_id, id) ON DELETE CASCADE
);

-- Runs of a campaign, by launch time.
CREATE INDEX broadcasts_by_campaign ON broadcasts (business_id, campaign_id, launched_at)
    WHERE campaign_id IS NOT NULL;

-- Campaigns: a broadcast on a schedule.
CREATE TABLE campaigns (
    business_id uuid        NOT NULL,
    id          uuid        NOT NULL,
    template_id uuid        NOT NULL,
    name        text        NOT NULL,
    -- Variables, audience, auto-pause rules and schedule.
    spec        jsonb       NOT NULL,
    status      text        NOT NULL,
    next_run_at timestamptz,
    runs        integer     NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT campaigns_pkey PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, template_id) REFERENCES templates (business_id, id) ON DELETE CASCADE
);

CREATE INDEX campaigns_due ON campaigns (next_run_at) WHERE status = 'active';
