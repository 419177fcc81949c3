DELETE FROM chain_heads WHERE name = 'events';
DROP TABLE outbox;
DROP TABLE events;
