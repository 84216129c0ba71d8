-- What pad detect needs: DNS figures that outlive pruned packet rows, every round's score,
-- the anomalies with the ports behind them, and the model's versions.

-- DNS packets seen in a round (all of them, not only the stored rows) and their name lengths.
ALTER TABLE rounds ADD COLUMN dns_packets INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rounds ADD COLUMN dns_name_max INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rounds ADD COLUMN dns_name_mean REAL NOT NULL DEFAULT 0;

-- One version of the model, saved whole in one transaction: a crash mid-fit leaves the
-- previous version loadable. Old versions keep their row (the history) but drop their weights.
CREATE TABLE models (
  id INTEGER PRIMARY KEY,                             -- the version
  created INTEGER NOT NULL,
  encoding TEXT NOT NULL,                             -- feature encoding the weights expect
  topology TEXT NOT NULL,                             -- layers, as JSON
  weights BLOB,                                       -- NULL once superseded and trimmed
  config TEXT NOT NULL,                               -- window, seed, ... as JSON
  threshold REAL,                                     -- NULL until calibrated (warm-up)
  threshold_state TEXT NOT NULL,                      -- calibration state, as JSON
  rounds_trained INTEGER NOT NULL,                    -- rounds learned from, in all versions
  trained_until INTEGER,                              -- start of the newest round learned from
  metrics TEXT                                        -- the fit that made this version, as JSON
);

-- Every scored round.
CREATE TABLE round_scores (
  round_id INTEGER PRIMARY KEY REFERENCES rounds (id) ON DELETE CASCADE,
  model_id INTEGER REFERENCES models (id),            -- NULL: warm-up before the first model
  scored_at INTEGER NOT NULL,
  score REAL,                                         -- reconstruction error; NULL as model_id
  threshold REAL,                                     -- NULL during warm-up
  verdict TEXT NOT NULL CHECK (verdict IN ('warmup', 'normal', 'anomaly'))
);
CREATE INDEX round_scores_anomalies ON round_scores (verdict) WHERE verdict = 'anomaly';

CREATE TABLE anomalies (
  id INTEGER PRIMARY KEY,
  round_id INTEGER NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
  detected_at INTEGER NOT NULL,
  score REAL NOT NULL,
  threshold REAL NOT NULL,
  model_id INTEGER NOT NULL REFERENCES models (id)
);
CREATE INDEX anomalies_by_round ON anomalies (round_id);

-- The ports that contributed most to an anomaly, worst first.
CREATE TABLE anomaly_ports (
  id INTEGER PRIMARY KEY,
  anomaly_id INTEGER NOT NULL REFERENCES anomalies (id) ON DELETE CASCADE,
  port_id INTEGER REFERENCES ports (id),              -- NULL for portless traffic (ICMP)
  protocol TEXT NOT NULL,
  error REAL NOT NULL,                                -- its share of the reconstruction error
  pid INTEGER,                                        -- owning process, where collect knew it
  command TEXT
);
CREATE INDEX anomaly_ports_by_anomaly ON anomaly_ports (anomaly_id);
