-- The assistant: its settings on the business; who wrote each message and
-- what the assistant decided about it; each conversation's assistant state
-- (written only by the assistant, revision-checked) and since when it waits
-- for a person; FAQs, intents and each business's trained model.

ALTER TABLE businesses ADD COLUMN assistant jsonb;

ALTER TABLE messages ADD COLUMN author text NOT NULL DEFAULT 'staff';
ALTER TABLE messages ADD COLUMN decision jsonb;
UPDATE messages SET author = 'customer' WHERE direction = 'inbound';
UPDATE messages m SET author = 'broadcast' FROM broadcast_recipients r
    WHERE r.business_id = m.business_id AND r.message_id = m.id;
-- A person's last reply in a conversation (the after-hours quiet rule).
CREATE INDEX messages_by_person ON messages (business_id, conversation_id, created_at)
    WHERE author = 'staff';

ALTER TABLE conversations ADD COLUMN assistant jsonb;
ALTER TABLE conversations ADD COLUMN assistant_rev integer NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN waiting_since timestamptz;
CREATE INDEX conversations_waiting ON conversations (business_id, waiting_since)
    WHERE waiting_since IS NOT NULL;

CREATE TABLE faqs (
    business_id uuid        NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    question    text        NOT NULL,
    paraphrases jsonb       NOT NULL,
    answer      text        NOT NULL,
    intent      text,
    active      boolean     NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT faqs_pkey PRIMARY KEY (business_id, id)
);

CREATE TABLE intents (
    business_id uuid        NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    name        text        NOT NULL,
    examples    jsonb       NOT NULL,
    action      text        NOT NULL,
    reply       text,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT intents_pkey PRIMARY KEY (business_id, id),
    CONSTRAINT intents_name_key UNIQUE (business_id, name)
);

-- One row per business once its FAQs or intents change: the data version
-- every change bumps, and the model trained on some version of it.
CREATE TABLE assistant_models (
    business_id     uuid   NOT NULL PRIMARY KEY REFERENCES businesses (id) ON DELETE CASCADE,
    data_version    bigint NOT NULL,
    trained_version bigint NOT NULL DEFAULT 0,
    info            jsonb,
    model           bytea
);

CREATE INDEX assistant_models_stale ON assistant_models (business_id)
    WHERE data_version > trained_version;
