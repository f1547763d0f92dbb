-- The similarity index, version 2 (store/vector.py): each IVF list is one row of packed int8
-- codes, so a query reads a few rows instead of tens of thousands; entries added since a list
-- was last packed wait in ivf_tail. The per-entry table of version 1 goes and the index is
-- rebuilt from `embeddings` on first use (meta ivf_rebuild).

DROP TABLE ivf_entries;
DELETE FROM ivf_centroids;
DELETE FROM meta WHERE key = 'ivf_trained_count';

CREATE TABLE ivf_lists (
    list_id INTEGER PRIMARY KEY,
    hashes BYTEA NOT NULL,                 -- int64 text hashes, little-endian
    codes BYTEA NOT NULL                   -- int8 x 384 per entry, same order (vector x CODE_SCALE)
);
-- codes barely compress: store them out of line uncompressed instead of trying on every write
ALTER TABLE ivf_lists ALTER COLUMN hashes SET STORAGE EXTERNAL;
ALTER TABLE ivf_lists ALTER COLUMN codes SET STORAGE EXTERNAL;
INSERT INTO ivf_lists (list_id, hashes, codes) VALUES (0, ''::bytea, ''::bytea);

CREATE TABLE ivf_tail (
    list_id INTEGER NOT NULL,
    text_hash BIGINT NOT NULL,
    code BYTEA NOT NULL,
    PRIMARY KEY (list_id, text_hash)
);

INSERT INTO meta (key, value) VALUES ('ivf_size', '0')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
INSERT INTO meta (key, value) SELECT 'ivf_rebuild', '1' WHERE EXISTS (SELECT 1 FROM embeddings)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
