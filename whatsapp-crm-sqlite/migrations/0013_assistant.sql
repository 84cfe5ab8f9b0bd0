-- The assistant: its settings on the business; who wrote each message and
-- what the assistant decided about it; each conversation's assistant state
-- (written only by the assistant, revision-checked) and since when it waits
-- for a person; FAQs, intents and each business's trained model.

ALTER TABLE businesses ADD COLUMN assistant TEXT;

ALTER TABLE messages ADD COLUMN author TEXT NOT NULL DEFAULT 'staff';
ALTER TABLE messages ADD COLUMN decision TEXT;
UPDATE messages SET author = 'customer' WHERE direction = 'inbound';
UPDATE messages SET author = 'broadcast' WHERE EXISTS (
    SELECT 1 FROM broadcast_recipients r
    WHERE r.business_id = messages.business_id AND r.message_id = messages.id);
-- A person's last reply in a conversation (the after-hours quiet rule).
CREATE INDEX messages_by_person ON messages (business_id, conversation_id, created_at)
    WHERE author = 'staff';

ALTER TABLE conversations ADD COLUMN assistant TEXT;
ALTER TABLE conversations ADD COLUMN assistant_rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN waiting_since INTEGER;
CREATE INDEX conversations_waiting ON conversations (business_id, waiting_since)
    WHERE waiting_since IS NOT NULL;

CREATE TABLE faqs (
    business_id BLOB    NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id          BLOB    NOT NULL,
    question    TEXT    NOT NULL,
    paraphrases TEXT    NOT NULL,
    answer      TEXT    NOT NULL,
    intent      TEXT,
    active      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (business_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE intents (
    business_id BLOB    NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id          BLOB    NOT NULL,
    name        TEXT    NOT NULL,
    examples    TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    reply       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, name)
) STRICT, WITHOUT ROWID;

-- One row per business once its FAQs or intents change: the data version
-- every change bumps, and the model trained on some version of it.
CREATE TABLE assistant_models (
    business_id  BLOB    NOT NULL PRIMARY KEY REFERENCES businesses (id) ON DELETE CASCADE,
    data_version INTEGER NOT NULL,
    info         TEXT,
    model        BLOB,
    trained_version INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE INDEX assistant_models_stale ON assistant_models (business_id)
    WHERE data_version > trained_version;
