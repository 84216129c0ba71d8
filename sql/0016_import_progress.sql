-- An import is recorded when it begins, together with the first rounds it commits, and marked
-- complete at its end. One that stopped before its end (a full disk, a kill) is resumed by the
-- next import of the same file, which skips the rounds already stored rather than storing them
-- twice. Imports recorded before are complete.
ALTER TABLE imports ADD COLUMN complete INTEGER NOT NULL DEFAULT 1 CHECK (complete IN (0, 1));
