-- Supplier -> supplier invitations (issue 15): a code says who it is for. NULL is the
-- account's usual (a supplier's codes are for couples); 'supplier' is an invitation's
-- code to a fellow supplier. Synced as the code's `referee_type` field.
ALTER TABLE codes ADD COLUMN referee_type TEXT CHECK (referee_type IN ('couple', 'supplier'));
