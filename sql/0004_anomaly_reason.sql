-- Why a round was flagged: 'score' (above the threshold) or 'new listener' (a service listening
-- on a port no earlier round had one on, whatever the score).
ALTER TABLE anomalies ADD COLUMN reason TEXT NOT NULL DEFAULT 'score'
  CHECK (reason IN ('score', 'new listener'));
