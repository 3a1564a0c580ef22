-- A counter that every change to what a call looks up (extensions, call forwarding,
-- voicemail boxes) moves on, whoever makes it: the API, the `warden extension` command or
-- another program. A running Warden keeps those lookups cached and reads this one row to
-- learn whether they are still good. Keep in step with ../postgres/0006_directory_version.sql.

CREATE TABLE directory_version (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 0);

CREATE TRIGGER extensions_inserted AFTER INSERT ON extensions
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER extensions_updated AFTER UPDATE ON extensions
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER extensions_deleted AFTER DELETE ON extensions
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER call_forwarding_inserted AFTER INSERT ON call_forwarding
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER call_forwarding_updated AFTER UPDATE ON call_forwarding
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER call_forwarding_deleted AFTER DELETE ON call_forwarding
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER voicemail_boxes_inserted AFTER INSERT ON voicemail_boxes
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER voicemail_boxes_updated AFTER UPDATE ON voicemail_boxes
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER voicemail_boxes_deleted AFTER DELETE ON voicemail_boxes
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
