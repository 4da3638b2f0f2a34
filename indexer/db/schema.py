"""The schema of ``store.sqlite``: the tables of a new index and what each schema version
added (:class:`~indexer.db.database.IndexDB` runs them; nothing else reads them)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT,
    text TEXT NOT NULL,
    url TEXT,
    source TEXT,
    published TEXT,
    category TEXT,
    content_hash TEXT NOT NULL,
    added_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    published_raw TEXT,
    source_key TEXT,
    origin TEXT,
    story_id TEXT
);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash);
CREATE INDEX IF NOT EXISTS articles_source ON articles(source);
CREATE INDEX IF NOT EXISTS articles_category ON articles(category);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published);
CREATE TABLE IF NOT EXISTS article_urls (
    url TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS article_urls_article ON article_urls(article_id);
CREATE TABLE IF NOT EXISTS external_ids (
    external_id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS external_ids_article ON external_ids(article_id);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    toned, folded, bigrams, tokenize = "unicode61 remove_diacritics 0 tokenchars '_'"
);
"""

# Schema 2: normalised outlet key, unparsed dates, the file an article came from,
# one row per category, and tombstones of deleted articles. ``upgrade_to_2`` adds these to a
# schema-1 store in place; a new store gets them from SCHEMA (columns above + this).
SCHEMA_2_ADDITIONS = """
CREATE INDEX IF NOT EXISTS articles_source_key ON articles(source_key);
CREATE INDEX IF NOT EXISTS articles_origin ON articles(origin);
CREATE TABLE IF NOT EXISTS article_categories (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (article_id, key)
);
CREATE INDEX IF NOT EXISTS article_categories_key ON article_categories(key);
CREATE TABLE IF NOT EXISTS tombstones (
    key TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tombstones_article ON tombstones(article_id);
"""

# Schema 3: the provinces an article is about (current and former names, see
# indexer.places), its story (``articles.story_id``: the article id of the story's first
# article; its own when alone), its MinHash signature and the LSH band keys that find
# candidates of the same story in one indexed query (indexer.stories).
SCHEMA_3_ADDITIONS = """
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id);
CREATE TABLE IF NOT EXISTS article_places (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('current', 'former')),
    PRIMARY KEY (article_id, kind, key)
);
CREATE INDEX IF NOT EXISTS article_places_key ON article_places(key, kind);
CREATE TABLE IF NOT EXISTS story_signatures (
    article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS story_bands (
    band BLOB NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS story_bands_band ON story_bands(band);
CREATE INDEX IF NOT EXISTS story_bands_article ON story_bands(article_id);
"""
