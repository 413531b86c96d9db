-- A subscription a partner client made: it manages it, and it receives only
-- what that client may see.
ALTER TABLE webhook_subscriptions ADD COLUMN client_id TEXT;
