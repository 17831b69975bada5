CREATE INDEX outbox_pending ON outbox (delivered_at, available_at);
