-- outbox_due (the pending messages in id order) answers every query of the pending:
-- the worker's next messages and the backlog count. The older index on
-- (delivered_at, available_at) only cost a write on every message stored and delivered.
DROP INDEX outbox_pending;
