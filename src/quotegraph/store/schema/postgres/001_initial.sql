-- quotegraph store, PostgreSQL: the same tables as the SQLite schema; full-text search is a
-- generated tsvector (content in english, weight D; speaker filter tokens in simple, weight A)
-- with a GIN index. Offsets are character offsets into articles.text, end exclusive.

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE articles (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    extraction_hash TEXT NOT NULL,
    url TEXT, title TEXT, date TEXT, author TEXT, publisher TEXT, outlet TEXT, language TEXT, path TEXT,
    text TEXT NOT NULL,
    extraction TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE INDEX articles_content_hash ON articles (content_hash);
CREATE INDEX articles_outlet ON articles (outlet);

CREATE TABLE speakers (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    surname_key TEXT NOT NULL,
    title TEXT,
    named INTEGER NOT NULL,
    qid TEXT,
    context TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX speakers_name_key ON speakers (name_key);
CREATE INDEX speakers_surname_key ON speakers (surname_key);

CREATE TABLE speaker_aliases (
    speaker_id BIGINT NOT NULL REFERENCES speakers (id),
    alias TEXT NOT NULL,
    alias_key TEXT NOT NULL,
    PRIMARY KEY (speaker_id, alias)
);
CREATE INDEX speaker_aliases_key ON speaker_aliases (alias_key);

CREATE TABLE speaker_links (
    article_id BIGINT NOT NULL REFERENCES articles (id),
    local_id TEXT NOT NULL,
    speaker_id BIGINT NOT NULL REFERENCES speakers (id),
    name TEXT NOT NULL,
    title TEXT,
    rule TEXT NOT NULL,
    explanation TEXT NOT NULL,
    PRIMARY KEY (article_id, local_id)
);
CREATE INDEX speaker_links_speaker ON speaker_links (speaker_id);

CREATE TABLE speaker_corrections (
    id BIGSERIAL PRIMARY KEY,
    action TEXT NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);

CREATE TABLE statements (
    id BIGSERIAL PRIMARY KEY,
    scope BIGINT NOT NULL,
    speaker_id BIGINT REFERENCES speakers (id),
    content TEXT NOT NULL,
    norm_hash BIGINT NOT NULL,
    canon TEXT NOT NULL,
    embed_hash BIGINT NOT NULL,
    kind TEXT NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    first_date TEXT,
    n_occurrences INTEGER NOT NULL,
    n_outlets INTEGER NOT NULL,
    speaker_keys TEXT NOT NULL,
    tsv TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('english', content), 'D') || setweight(to_tsvector('simple', speaker_keys), 'A')
    ) STORED
);
CREATE INDEX statements_exact ON statements (scope, norm_hash);
CREATE INDEX statements_speaker ON statements (speaker_id);
CREATE INDEX statements_embed ON statements (embed_hash);
CREATE INDEX statements_date ON statements (first_date);
CREATE INDEX statements_tsv ON statements USING GIN (tsv);

CREATE TABLE statement_prints (
    scope BIGINT NOT NULL,
    print BIGINT NOT NULL,
    statement_id BIGINT NOT NULL,
    PRIMARY KEY (scope, print, statement_id)
);
CREATE INDEX statement_prints_statement ON statement_prints (statement_id);

CREATE TABLE occurrences (
    id BIGSERIAL PRIMARY KEY,
    statement_id BIGINT NOT NULL REFERENCES statements (id),
    article_id BIGINT NOT NULL REFERENCES articles (id),
    local_speaker TEXT,
    content_start INTEGER NOT NULL, content_end INTEGER NOT NULL,
    pieces TEXT,
    source_start INTEGER, source_end INTEGER,
    cue_start INTEGER, cue_end INTEGER,
    source_text TEXT, cue_text TEXT, content_text TEXT NOT NULL,
    kind TEXT NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    rule TEXT NOT NULL,
    date TEXT,
    outlet TEXT,
    match TEXT NOT NULL,                   -- how it joined its statement: new, exact, near-duplicate …
    UNIQUE (article_id, content_start, content_end)
);
CREATE INDEX occurrences_statement ON occurrences (statement_id);

CREATE TABLE embeddings (
    text_hash BIGINT PRIMARY KEY,
    vec BYTEA NOT NULL
);

CREATE TABLE ivf_centroids (list_id INTEGER PRIMARY KEY, vec BYTEA NOT NULL);
CREATE TABLE ivf_entries (
    list_id INTEGER NOT NULL,
    text_hash BIGINT NOT NULL,
    PRIMARY KEY (list_id, text_hash)
);
