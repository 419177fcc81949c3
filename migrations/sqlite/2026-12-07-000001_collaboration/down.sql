DELETE FROM chain_heads WHERE name = 'collab_events';
DROP TABLE collab_event_audience;
DROP TABLE collab_events;
DROP TABLE collab_notices;
DROP TABLE collab_attachments;
DROP TABLE collab_steps;
DROP TABLE collab_items;
