-- Near-duplicate groups: campaigns (the same letter from many people) and repeats (one message
-- sent twice). Each message with text has a signature (store/similar.rs): the SHA-256 of its
-- normalised words and a MinHash signature, whose LSH band keys are indexed so that a new
-- message finds its candidates without comparing against every stored one.

CREATE TABLE similar_groups (
    id {id},
    size BIGINT NOT NULL,
    first_ms BIGINT NOT NULL,
    last_ms BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE signatures (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id),
    text_sha256 TEXT NOT NULL,
    shingles BIGINT NOT NULL,
    minhash {blob},
    indexed BIGINT NOT NULL
);
CREATE INDEX signatures_text ON signatures (text_sha256);

-- One row per band of an indexed signature.
CREATE TABLE lsh_bands (
    band_key BIGINT NOT NULL,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    PRIMARY KEY (band_key, message_id)
);

-- The group a message belongs to (NULL: none, it is alone).
ALTER TABLE triage ADD COLUMN group_id BIGINT REFERENCES similar_groups (id);
CREATE INDEX triage_group ON triage (group_id, sort_date);
