-- Rules flag a round whatever the model says, from a database's first round, before any model
-- or threshold exists: an anomaly's score, threshold and model become optional, and its reason
-- may be 'rule'. SQLite changes a column's constraints only by rebuilding its table (the
-- migration runs with foreign keys off and checks them before it commits).
CREATE TABLE anomalies_rebuilt (
  id INTEGER PRIMARY KEY,
  round_id INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
  detected_at INTEGER NOT NULL,
  score REAL,                          -- NULL: flagged by a rule before the model scored it
  threshold REAL,                      -- NULL: flagged before the threshold was calibrated
  model_id INTEGER REFERENCES models (id), -- NULL: flagged before the first model
  reason TEXT NOT NULL DEFAULT 'score' CHECK (reason IN ('score', 'new listener', 'rule')),
  incident_id INTEGER REFERENCES incidents (id) ON DELETE SET NULL
);
INSERT INTO anomalies_rebuilt (id, round_id, detected_at, score, threshold, model_id, reason,
  incident_id)
SELECT id, round_id, detected_at, score, threshold, model_id, reason, incident_id FROM anomalies;
DROP TABLE anomalies;
ALTER TABLE anomalies_rebuilt RENAME TO anomalies;
CREATE INDEX anomalies_by_round ON anomalies (round_id);
CREATE INDEX anomalies_by_incident ON anomalies (incident_id);

-- The share of a round's time that its capture covered: an imported capture's first and last
-- rounds hold only part of their slot, and are not judged as if they were whole. NULL: all of it.
ALTER TABLE rounds ADD COLUMN coverage REAL;

-- Such a round gets the verdict 'partial': rules still apply to it, the model does not judge
-- it, and it is never learned from.
CREATE TABLE round_scores_rebuilt (
  round_id INTEGER PRIMARY KEY REFERENCES rounds (id) ON DELETE CASCADE,
  model_id INTEGER REFERENCES models (id),            -- NULL: warm-up before the first model
  scored_at INTEGER NOT NULL,
  score REAL,                                         -- reconstruction error; NULL as model_id
  threshold REAL,                                     -- NULL during warm-up
  verdict TEXT NOT NULL CHECK (verdict IN ('warmup', 'normal', 'anomaly', 'partial')),
  learned INTEGER NOT NULL DEFAULT 0 CHECK (learned IN (0, 1))
);
INSERT INTO round_scores_rebuilt (round_id, model_id, scored_at, score, threshold, verdict, learned)
SELECT round_id, model_id, scored_at, score, threshold, verdict, learned FROM round_scores;
DROP TABLE round_scores;
ALTER TABLE round_scores_rebuilt RENAME TO round_scores;
CREATE INDEX round_scores_anomalies ON round_scores (verdict) WHERE verdict = 'anomaly';
