-- The language an account chose for its pages and emails (issue 15, docs/couples.md): a
-- BCP 47 tag such as "es" or "en-GB". Empty means "as my browser asks" (Accept-Language).
ALTER TABLE accounts ADD COLUMN locale TEXT;
