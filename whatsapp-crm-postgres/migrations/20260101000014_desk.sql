-- The team inbox: each conversation's handling by people (the desk, written
-- against its revision), when the assignment worker must next look at it,
-- and every change to a conversation as an event with its actor and time.
-- "closed" conversations become "resolved", the status's new name.
UPDATE conversations SET status = 'resolved' WHERE status = 'closed';
ALTER TABLE conversations ADD COLUMN desk jsonb;
ALTER TABLE conversations ADD COLUMN desk_rev integer NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN desk_due_at timestamptz;
-- Its next timer alone (offer expiry, deadline, snooze end): waiting for an
-- agent is due only while one is online, a timer always.
ALTER TABLE conversations ADD COLUMN desk_timer_at timestamptz;
CREATE INDEX conversations_desk_due ON conversations (desk_due_at, business_id)
    WHERE desk_due_at IS NOT NULL;
CREATE INDEX conversations_by_agent ON conversations (business_id, assigned_agent, id)
    WHERE assigned_agent IS NOT NULL;

CREATE TABLE conversation_events (
    business_id     uuid        NOT NULL,
    id              uuid        NOT NULL,
    conversation_id uuid        NOT NULL,
    at              timestamptz NOT NULL,
    kind            text        NOT NULL,
    agent_id        uuid,
    actor           jsonb       NOT NULL,
    detail          jsonb       NOT NULL,
    CONSTRAINT conversation_events_pkey PRIMARY KEY (business_id, id),
    CONSTRAINT conversation_events_conversation_fkey FOREIGN KEY (business_id, conversation_id)
        REFERENCES conversations (business_id, id) ON DELETE CASCADE
);
CREATE INDEX conversation_events_by_conversation
    ON conversation_events (business_id, conversation_id, id);
