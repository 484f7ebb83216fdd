-- What a notification tells, without words (issue 15, docs/notifications.md): the
-- `Notice` as JSON, so the app, the couple's page and the email each tell it in their
-- reader's language. Rows from before keep their stored English title and body.
ALTER TABLE notifications ADD COLUMN notice TEXT;
