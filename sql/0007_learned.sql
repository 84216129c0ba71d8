-- Whether detect has learned from a scored round's hour: set in the transaction that saves the
-- model version learned from it (a flagged round is passed over, never learned from). A detect
-- that dies between storing an hour's scores and saving its model leaves 0 here, and the next
-- detect learns that hour before it scores anything new. Rounds scored before this migration
-- were learned by the run that scored them.
ALTER TABLE round_scores ADD COLUMN learned INTEGER NOT NULL DEFAULT 0 CHECK (learned IN (0, 1));
UPDATE round_scores SET learned = 1;
