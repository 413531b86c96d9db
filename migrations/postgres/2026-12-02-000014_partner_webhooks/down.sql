ALTER TABLE webhook_subscriptions DROP COLUMN client_id;
