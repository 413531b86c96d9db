ALTER TABLE services DROP COLUMN reminders;
DROP TABLE notifications;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
