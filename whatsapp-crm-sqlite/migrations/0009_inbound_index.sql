-- Only inbound messages are looked up by customer (reply detection,
-- engagement), so outbound messages, broadcasts above all, no longer pay for
-- an entry in this index.
DROP INDEX messages_by_customer;
CREATE INDEX messages_inbound_by_customer ON messages (business_id, customer_id, created_at)
    WHERE direction = 'inbound';
