-- Agents: who answers a business's customers, what they handle and how
-- many conversations they take at once. API keys may act for one agent of
-- their own business.

CREATE TABLE agents (
    business_id      uuid        NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id               uuid        NOT NULL,
    name             text        NOT NULL,
    skills           jsonb       NOT NULL,
    languages        jsonb       NOT NULL,
    max_concurrent   integer     NOT NULL,
    availability     text        NOT NULL,
    last_assigned_at timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT agents_pkey PRIMARY KEY (business_id, id)
);

ALTER TABLE api_keys ADD COLUMN agent_id uuid;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_agent_fkey
    FOREIGN KEY (business_id, agent_id) REFERENCES agents (business_id, id);

-- Routing queues: a target over agents' attributes and how one is picked.
CREATE TABLE queues (
    business_id        uuid        NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    id                 uuid        NOT NULL,
    name               text        NOT NULL,
    target             text        NOT NULL,
    strategy           text        NOT NULL,
    offer_timeout_secs integer     NOT NULL,
    escalate_to        uuid,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CONSTRAINT queues_pkey PRIMARY KEY (business_id, id),
    CONSTRAINT queues_name_key UNIQUE (business_id, name),
    CONSTRAINT queues_escalate_fkey FOREIGN KEY (business_id, escalate_to)
        REFERENCES queues (business_id, id)
);

-- Each business's routing rules and default, one document.
CREATE TABLE routing (
    business_id uuid        NOT NULL PRIMARY KEY REFERENCES businesses (id) ON DELETE CASCADE,
    rules       jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL
);
