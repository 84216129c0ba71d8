/**
 * The capture files pad imported, known by their fingerprint: a second import of the same file
 * would store every round twice.
 *
 * @module
 */
import type { Database } from "./database.ts";

/** One import. */
export interface ImportRecord {
  file: string;
  fingerprint: string;
  bytes: number;
  importedAt: number;
  rounds: number;
}

/** The latest import of a file with `fingerprint`, or null. */
export function previousImport(db: Database, fingerprint: string): ImportRecord | null {
  const row = db.prepare(
    "SELECT file, fingerprint, bytes, imported_at, rounds FROM imports WHERE fingerprint = ? " +
      "ORDER BY id DESC LIMIT 1",
  ).get(fingerprint);
  return row
    ? {
      file: String(row.file),
      fingerprint: String(row.fingerprint),
      bytes: Number(row.bytes),
      importedAt: Number(row.imported_at),
      rounds: Number(row.rounds),
    }
    : null;
}

/** Remembers an import. */
export function recordImport(db: Database, record: ImportRecord): void {
  db.prepare(
    "INSERT INTO imports (file, fingerprint, bytes, imported_at, rounds) VALUES (?, ?, ?, ?, ?)",
  ).run(record.file, record.fingerprint, record.bytes, record.importedAt, record.rounds);
}
