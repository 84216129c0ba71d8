-- Incidents: flagged rounds that belong together (consecutive, or close in time with the same
-- cause) are one thing that happened, told in one line, alerted once, and answered by a person.
CREATE TABLE incidents (
  id INTEGER PRIMARY KEY,
  status TEXT NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'closed', 'acknowledged', 'accepted')),
  kind TEXT NOT NULL,                  -- the cause: 'new listener', 'outbound scan', 'dns', ...
  cause_key TEXT NOT NULL,             -- kind and subject: rounds with the same key join it
  summary TEXT NOT NULL,               -- one line a person understands
  first_round_id INTEGER,              -- the rounds it spans (kept when prune removes them)
  last_round_id INTEGER,
  start_time INTEGER NOT NULL,         -- start of its first round
  end_time INTEGER NOT NULL,           -- end of its last round
  rounds INTEGER NOT NULL DEFAULT 1,   -- flagged rounds in it
  peak_score REAL,                     -- the highest score among them (NULL: rules only)
  model_version INTEGER,               -- the model version that scored its first round
  ports TEXT NOT NULL DEFAULT '[]',    -- JSON: [{protocol, port, command, pid}] behind it
  peers TEXT NOT NULL DEFAULT '[]',    -- JSON: remote addresses behind it
  opened_at INTEGER NOT NULL,
  closed_at INTEGER,                   -- when a quiet spell closed it
  acknowledged_at INTEGER,             -- pad ack: seen, no more alerts
  accepted_at INTEGER                  -- pad accept: legitimate, learned as normal
);
CREATE INDEX incidents_by_status ON incidents (status);
CREATE INDEX incidents_by_start ON incidents (start_time);

-- A flagged round points to the incident it belongs to.
ALTER TABLE anomalies ADD COLUMN incident_id INTEGER REFERENCES incidents (id) ON DELETE SET NULL;
CREATE INDEX anomalies_by_incident ON anomalies (incident_id);

-- What was told about an incident to each target (Alertmanager, a hook, syslog): one row per
-- event and target, pending until delivered, so a target that is down is tried again on the
-- next run and nothing is lost.
CREATE TABLE incident_deliveries (
  id INTEGER PRIMARY KEY,
  incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  event TEXT NOT NULL CHECK (event IN ('opened', 'resolved')),
  target TEXT NOT NULL,                -- 'alertmanager URL', 'hook COMMAND', 'syslog SOCKET'
  created INTEGER NOT NULL,
  delivered INTEGER,                   -- NULL while pending
  attempts INTEGER NOT NULL DEFAULT 0,
  error TEXT,                          -- why the last attempt failed
  UNIQUE (incident_id, event, target)
);
CREATE INDEX incident_deliveries_pending ON incident_deliveries (delivered) WHERE delivered IS NULL;
