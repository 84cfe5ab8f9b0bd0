-- Agents: who answers a business's customers, what they handle and how
-- many conversations they take at once. API keys may act for one agent.

CREATE TABLE agents (
    business_id      BLOB    NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id               BLOB    NOT NULL,
    name             TEXT    NOT NULL,
    skills           TEXT    NOT NULL,
    languages        TEXT    NOT NULL,
    max_concurrent   INTEGER NOT NULL,
    availability     TEXT    NOT NULL,
    last_assigned_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (business_id, id)
) STRICT, WITHOUT ROWID;

ALTER TABLE api_keys ADD COLUMN agent_id BLOB;

-- Routing queues: a target over agents' attributes and how one is picked.
CREATE TABLE queues (
    business_id        BLOB    NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id                 BLOB    NOT NULL,
    name               TEXT    NOT NULL,
    target             TEXT    NOT NULL,
    strategy           TEXT    NOT NULL,
    offer_timeout_secs INTEGER NOT NULL,
    escalate_to        BLOB,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, name)
) STRICT, WITHOUT ROWID;

-- Each business's routing rules and default, one document.
CREATE TABLE routing (
    business_id BLOB    NOT NULL PRIMARY KEY REFERENCES businesses (id) ON DELETE CASCADE,
    rules       TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
