-- quotegraph store, SQLite: articles, speakers and their aliases, statements and their
-- occurrences, full-text search (FTS5), near-duplicate fingerprints, embeddings and the
-- similarity index. Offsets are character offsets into articles.text, end exclusive.

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE articles (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,              -- the ingest key (path + position): identity across runs
    content_hash TEXT NOT NULL,            -- sha256 of the text
    extraction_hash TEXT NOT NULL,         -- sha256 of the extraction JSON: unchanged = skip on re-ingest
    url TEXT, title TEXT, date TEXT, author TEXT, publisher TEXT, outlet TEXT, language TEXT, path TEXT,
    text TEXT NOT NULL,
    extraction TEXT NOT NULL,              -- the Extraction JSON, so corrections can be replayed
    ingested_at TEXT NOT NULL
);
CREATE INDEX articles_content_hash ON articles (content_hash);
CREATE INDEX articles_outlet ON articles (outlet);

CREATE TABLE speakers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,                    -- canonical: the fullest name seen, or the user's
    name_key TEXT NOT NULL,                -- transliteration-folded full name ('' when unnamed)
    surname_key TEXT NOT NULL,
    title TEXT,
    named INTEGER NOT NULL,
    qid TEXT,                              -- Wikidata id from a user-supplied table
    context TEXT NOT NULL DEFAULT '{}',    -- JSON {term: count}: what the speaker's articles are about
    created_at TEXT NOT NULL
);
CREATE INDEX speakers_name_key ON speakers (name_key);
CREATE INDEX speakers_surname_key ON speakers (surname_key);

CREATE TABLE speaker_aliases (
    speaker_id INTEGER NOT NULL REFERENCES speakers (id),
    alias TEXT NOT NULL,
    alias_key TEXT NOT NULL,
    PRIMARY KEY (speaker_id, alias)
);
CREATE INDEX speaker_aliases_key ON speaker_aliases (alias_key);

-- Why each article-level speaker was tied to a store speaker: one row per (article, speaker).
CREATE TABLE speaker_links (
    article_id INTEGER NOT NULL REFERENCES articles (id),
    local_id TEXT NOT NULL,
    speaker_id INTEGER NOT NULL REFERENCES speakers (id),
    name TEXT NOT NULL,
    title TEXT,
    rule TEXT NOT NULL,
    explanation TEXT NOT NULL,
    PRIMARY KEY (article_id, local_id)
);
CREATE INDEX speaker_links_speaker ON speaker_links (speaker_id);

-- User corrections (mirrors the alias file): same / apart / qid.
CREATE TABLE speaker_corrections (
    id INTEGER PRIMARY KEY,
    action TEXT NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);

CREATE TABLE statements (
    id INTEGER PRIMARY KEY,
    scope INTEGER NOT NULL,                -- speaker id, 0 when no speaker: quotes merge only within a scope
    speaker_id INTEGER REFERENCES speakers (id),
    content TEXT NOT NULL,                 -- the longest version seen
    norm_hash INTEGER NOT NULL,            -- hash of the canonical form (exact duplicates)
    canon TEXT NOT NULL,                   -- canonical form, for near-duplicate checks
    embed_hash INTEGER NOT NULL,           -- key into embeddings
    kind TEXT NOT NULL,
    confidence REAL NOT NULL,              -- the highest of its occurrences
    first_date TEXT,
    n_occurrences INTEGER NOT NULL,
    n_outlets INTEGER NOT NULL,
    speaker_keys TEXT NOT NULL             -- search tokens for the speaker filter
);
CREATE INDEX statements_exact ON statements (scope, norm_hash);
CREATE INDEX statements_speaker ON statements (speaker_id);
CREATE INDEX statements_embed ON statements (embed_hash);
CREATE INDEX statements_date ON statements (first_date);

-- External content: the text lives in statements only; rows are added and deleted by the store.
CREATE VIRTUAL TABLE statement_fts USING fts5 (
    content, speaker_keys, content='statements', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);

CREATE TABLE statement_prints (
    scope INTEGER NOT NULL,
    print INTEGER NOT NULL,
    statement_id INTEGER NOT NULL,
    PRIMARY KEY (scope, print, statement_id)
) WITHOUT ROWID;
CREATE INDEX statement_prints_statement ON statement_prints (statement_id);

CREATE TABLE occurrences (
    id INTEGER PRIMARY KEY,
    statement_id INTEGER NOT NULL REFERENCES statements (id),
    article_id INTEGER NOT NULL REFERENCES articles (id),
    local_speaker TEXT,
    content_start INTEGER NOT NULL, content_end INTEGER NOT NULL,
    pieces TEXT,                           -- JSON [[start, end], ...] for a discontinuous content
    source_start INTEGER, source_end INTEGER,
    cue_start INTEGER, cue_end INTEGER,
    source_text TEXT, cue_text TEXT, content_text TEXT NOT NULL,
    kind TEXT NOT NULL,
    confidence REAL NOT NULL,
    rule TEXT NOT NULL,
    date TEXT,
    outlet TEXT,
    match TEXT NOT NULL,                   -- how it joined its statement: new, exact, near-duplicate …
    UNIQUE (article_id, content_start, content_end)
);
CREATE INDEX occurrences_statement ON occurrences (statement_id);

CREATE TABLE embeddings (
    text_hash INTEGER PRIMARY KEY,
    vec BLOB NOT NULL                      -- float32 x 384, L2-normalised
);

CREATE TABLE ivf_centroids (list_id INTEGER PRIMARY KEY, vec BLOB NOT NULL);
CREATE TABLE ivf_entries (
    list_id INTEGER NOT NULL,
    text_hash INTEGER NOT NULL,
    PRIMARY KEY (list_id, text_hash)
) WITHOUT ROWID;
