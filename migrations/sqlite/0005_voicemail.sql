-- Voicemail: a box per extension (absent: off) and the messages left in it. A message's
-- audio is a mono WAV file (file_path) written by the media plane; deleting the row through
-- the API deletes the file too. Keep in step with ../postgres/0005_voicemail.sql.

CREATE TABLE voicemail_boxes (
    extension          TEXT    PRIMARY KEY REFERENCES extensions (number)
                               ON DELETE CASCADE ON UPDATE CASCADE,
    enabled            INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    max_message_secs   INTEGER NOT NULL DEFAULT 120 CHECK (max_message_secs BETWEEN 5 AND 600),
    updated_at         INTEGER NOT NULL
);

-- No foreign key on extension: like call records, messages are history and stay when the
-- extension is removed (their files are still on disk until deleted through the API).
CREATE TABLE voicemail_messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    extension    TEXT    NOT NULL,
    caller       TEXT    NOT NULL,
    call_id      TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL CHECK (duration_ms >= 0),
    file_path    TEXT    NOT NULL,
    heard        INTEGER NOT NULL DEFAULT 0 CHECK (heard IN (0, 1))
);
CREATE INDEX voicemail_messages_extension ON voicemail_messages (extension, received_at);
