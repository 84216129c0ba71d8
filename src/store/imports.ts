/**
 * The capture files pad imported, known by their fingerprint: a second import of the same file
 * would store every round twice. An import is recorded when it begins and marked complete at its
 * end, so one that stopped midway can be resumed.
 *
 * @module
 */
import type { Database } from "./database.ts";

/** One import. */
export interface ImportRecord {
  id: number;
  file: string;
  fingerprint: string;
  bytes: number;
  importedAt: number;
  /** Rounds it stored; 0 until it is complete. */
  rounds: number;
  /** False while it runs, and for good when it stopped before its end. */
  complete: boolean;
}

/** The latest import of a file with `fingerprint`, or null. */
export function previousImport(db: Database, fingerprint: string): ImportRecord | null {
  const row = db.prepare(
    "SELECT id, file, fingerprint, bytes, imported_at, rounds, complete FROM imports " +
      "WHERE fingerprint = ? ORDER BY id DESC LIMIT 1",
  ).get(fingerprint);
  return row
    ? {
      id: Number(row.id),
      file: String(row.file),
      fingerprint: String(row.fingerprint),
      bytes: Number(row.bytes),
      importedAt: Number(row.imported_at),
      rounds: Number(row.rounds),
      complete: row.complete === 1,
    }
    : null;
}

/** Records an import as it begins; returns its id. */
export function beginImport(
  db: Database,
  record: Pick<ImportRecord, "file" | "fingerprint" | "bytes" | "importedAt">,
): number {
  return Number(
    db.prepare(
      "INSERT INTO imports (file, fingerprint, bytes, imported_at, rounds, complete) " +
        "VALUES (?, ?, ?, ?, 0, 0)",
    ).run(record.file, record.fingerprint, record.bytes, record.importedAt).lastInsertRowid,
  );
}

/** Marks an import complete, with the rounds it stored. */
export function finishImport(db: Database, id: number, rounds: number): void {
  db.prepare("UPDATE imports SET rounds = ?, complete = 1 WHERE id = ?").run(rounds, id);
}

/** The rounds an import stored, by their start time (its slot). */
export function roundsOfImport(db: Database, record: ImportRecord): Map<number, number> {
  const rows = db.prepare(
    "SELECT start_time, id FROM rounds WHERE source = 'import' AND source_file = ? AND " +
      "imported_at = ?",
  ).all(record.file, record.importedAt);
  return new Map(rows.map((r) => [Number(r.start_time), Number(r.id)]));
}
