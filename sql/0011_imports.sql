-- Imports are remembered: a capture imported a second time is refused (pad import --again
-- imports it anyway), and imported rounds are kept --keep after their import, not after the
-- time they were captured (an old capture would otherwise vanish at the next nightly prune).
CREATE TABLE imports (
  id INTEGER PRIMARY KEY,
  file TEXT NOT NULL,                  -- the path as given
  fingerprint TEXT NOT NULL,           -- SHA-256 of the file's size, first and last MiB
  bytes INTEGER NOT NULL,
  imported_at INTEGER NOT NULL,
  rounds INTEGER NOT NULL
);
CREATE INDEX imports_fingerprint ON imports (fingerprint);

ALTER TABLE rounds ADD COLUMN imported_at INTEGER; -- NULL for live rounds
-- Rounds imported before: their import time is unknown, so their retention starts now.
UPDATE rounds SET imported_at = CAST(unixepoch('now') AS INTEGER) * 1000 WHERE source = 'import';
