-- 0003: prompts uploaded through the API (POST /api/v1/prompts). The audio
-- is a WAV file named by the id in the prompt upload directory; this table
-- keeps what the API shows of it.

CREATE TABLE prompts (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,            -- the uploaded file's name, for people
    format      TEXT    NOT NULL,            -- its extension: .wav, .mp3, ...
    size        INTEGER NOT NULL,            -- bytes uploaded
    duration_ms INTEGER NOT NULL,            -- length of the converted audio
    created_at  INTEGER NOT NULL DEFAULT 0
) STRICT;
