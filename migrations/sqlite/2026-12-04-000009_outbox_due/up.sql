-- The outbox worker takes the oldest undelivered messages in id order. The index on
-- (delivered_at, available_at) found them but not in that order, so each pass sorted
-- them, or walked every delivered message by id; this one holds only the pending.
CREATE INDEX outbox_due ON outbox (id) WHERE delivered_at IS NULL;
