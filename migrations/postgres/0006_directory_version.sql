-- A counter that every change to what a call looks up (extensions, call forwarding,
-- voicemail boxes) moves on, whoever makes it: the API, the `warden extension` command or
-- another program. A running Warden keeps those lookups cached and reads this one row to
-- learn whether they are still good. Keep in step with ../sqlite/0006_directory_version.sql.

CREATE TABLE directory_version (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  BIGINT  NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 0);

CREATE FUNCTION directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER extensions_changed AFTER INSERT OR UPDATE OR DELETE ON extensions
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER call_forwarding_changed AFTER INSERT OR UPDATE OR DELETE ON call_forwarding
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER voicemail_boxes_changed AFTER INSERT OR UPDATE OR DELETE ON voicemail_boxes
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
