-- Call recording: the length of the recorded audio, in milliseconds, next to
-- the recording file path (call_records.recording_path, from 0001). NULL when
-- the call was not recorded or the file could not be written completely.
-- Keep in step with ../sqlite/0004_call_recording.sql.
ALTER TABLE call_records ADD COLUMN recording_ms BIGINT CHECK (recording_ms >= 0);
CREATE INDEX call_records_recorded ON call_records (started_at)
    WHERE recording_path IS NOT NULL;
