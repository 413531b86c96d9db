ALTER TABLE holds DROP COLUMN client_id;
