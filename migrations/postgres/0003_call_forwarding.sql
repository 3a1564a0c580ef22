-- Call forwarding per extension: where calls to the extension go instead of (always), or
-- after (busy, no answer), ringing its phones. Targets are extension numbers; no foreign key
-- on them, so deleting a target leaves the rule in place (calls then ring the extension
-- itself). Keep in step with ../sqlite/0003_call_forwarding.sql.

CREATE TABLE call_forwarding (
    extension          TEXT        PRIMARY KEY REFERENCES extensions (number)
                                   ON DELETE CASCADE ON UPDATE CASCADE,
    -- Every call goes here; NULL: off.
    forward_always     TEXT,
    -- Calls the extension rejects as busy go here; NULL: off.
    forward_busy       TEXT,
    -- Calls not answered within no_answer_secs go here; NULL: off.
    forward_no_answer  TEXT,
    no_answer_secs     BIGINT      NOT NULL DEFAULT 20 CHECK (no_answer_secs BETWEEN 5 AND 300),
    updated_at         TIMESTAMPTZ NOT NULL
);
