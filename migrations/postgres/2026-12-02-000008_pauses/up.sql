-- A pause may name when it ends by itself (`until`); null: until someone resumes it.
ALTER TABLE locations ADD COLUMN paused_until TIMESTAMP;
ALTER TABLE resources ADD COLUMN paused_until TIMESTAMP;
ALTER TABLE services ADD COLUMN paused_until TIMESTAMP;
