-- A friend's address as the keyed hash an unsubscribe link carries (issue 15,
-- docs/couples.md): not the address, which is still not kept, but enough to honour the
-- friend's unsubscribe — no more recommendations or invitations through Bouquet.
ALTER TABLE friend_recommendations ADD COLUMN address_hash TEXT;
CREATE INDEX friend_recommendations_address ON friend_recommendations (address_hash);
