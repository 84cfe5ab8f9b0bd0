-- Conversations drop their UNIQUE (business_id, id, customer_id) constraint,
-- which only gave messages' foreign key a parent key: the by-customer index,
-- now unique over the same columns, serves that key as well, and every new
-- conversation (a broadcast opens thousands) writes one index fewer.
-- Rebuilt the way SQLite prescribes: foreign keys are off for the migration
-- and checked before it commits.
CREATE TABLE conversations_new (
    business_id     BLOB    NOT NULL,
    id              BLOB    NOT NULL,
    customer_id     BLOB    NOT NULL,
    status          TEXT    NOT NULL,
    assigned_agent  BLOB,
    last_message_at INTEGER,
    last_inbound_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

INSERT INTO conversations_new (business_id, id, customer_id, status, assigned_agent,
    last_message_at, last_inbound_at, created_at, updated_at)
SELECT business_id, id, customer_id, status, assigned_agent, last_message_at, last_inbound_at,
    created_at, updated_at
FROM conversations;

DROP TABLE conversations;
ALTER TABLE conversations_new RENAME TO conversations;

CREATE UNIQUE INDEX conversations_by_customer ON conversations (business_id, customer_id, id);
CREATE INDEX conversations_by_status ON conversations (business_id, status, id);
