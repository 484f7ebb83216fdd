-- The campaign a code was made under (docs/sync.md, docs/campaigns.md): chosen from the
-- campaigns open to the account as of the last sync; the server applies it if it is
-- still open when the code arrives.
ALTER TABLE codes ADD COLUMN campaign_id TEXT;
