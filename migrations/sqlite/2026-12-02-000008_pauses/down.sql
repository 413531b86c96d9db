ALTER TABLE services DROP COLUMN paused_until;
ALTER TABLE resources DROP COLUMN paused_until;
ALTER TABLE locations DROP COLUMN paused_until;
