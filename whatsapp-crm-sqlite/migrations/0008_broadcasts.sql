-- Broadcasts: one approved template sent to an audience.

CREATE TABLE broadcasts (
    business_id     BLOB    NOT NULL,
    id              BLOB    NOT NULL,
    template_id     BLOB    NOT NULL,
    name            TEXT    NOT NULL,
    -- Variables, audience and auto-pause rules as JSON.
    spec            TEXT    NOT NULL,
    send_at         INTEGER,
    status          TEXT    NOT NULL,
    pause_reason    TEXT,
    recipients      INTEGER NOT NULL DEFAULT 0,
    queued          INTEGER NOT NULL DEFAULT 0,
    skipped         INTEGER NOT NULL DEFAULT 0,
    launch_cursor   BLOB,
    launch_complete INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    launched_at     INTEGER,
    finished_at     INTEGER,
    campaign_id     BLOB,
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, template_id) REFERENCES templates (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Workers look only at broadcasts with work to do.
CREATE INDEX broadcasts_active ON broadcasts (status, send_at)
    WHERE status IN ('scheduled', 'launching', 'sending');

-- Who each broadcast reached: their message, or why they got none.
CREATE TABLE broadcast_recipients (
    business_id  BLOB NOT NULL,
    broadcast_id BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    message_id   BLOB,
    skipped      TEXT,
    variant      INTEGER,
    PRIMARY KEY (business_id, broadcast_id, customer_id),
    FOREIGN KEY (business_id, broadcast_id) REFERENCES broadcasts (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Runs of a campaign, by launch time.
CREATE INDEX broadcasts_by_campaign ON broadcasts (business_id, campaign_id, launched_at)
    WHERE campaign_id IS NOT NULL;

-- Campaigns: a broadcast on a schedule.
CREATE TABLE campaigns (
    business_id BLOB    NOT NULL,
    id          BLOB    NOT NULL,
    template_id BLOB    NOT NULL,
    name        TEXT    NOT NULL,
    -- Variables, audience, auto-pause rules and schedule as JSON.
    spec        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    next_run_at INTEGER,
    runs        INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, template_id) REFERENCES templates (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX campaigns_due ON campaigns (next_run_at) WHERE status = 'active';
