/**
 * SQLite's failures in words a person can act on: which database, what is wrong with it (the
 * disk is full, it is read-only, it is damaged), and what to do, in one line.
 *
 * @module
 */
import { dirname } from "../path.ts";
import { PadError } from "../errors.ts";

// sqlite3.h: primary result codes (an extended code keeps its primary one in the low byte).
const SQLITE_READONLY = 8;
const SQLITE_IOERR = 10;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;

/** An error node:sqlite threw. */
interface SqliteError extends Error {
  code: "ERR_SQLITE_ERROR";
  errcode?: number;
}

/** Whether `error` came from SQLite. */
export function isSqliteError(error: unknown): error is SqliteError {
  return error instanceof Error && (error as { code?: unknown }).code === "ERR_SQLITE_ERROR";
}

/** What went wrong, from the result code where node:sqlite gives one, else from the message. */
type Kind = "full" | "readonly" | "corrupt" | "notadb" | "cantopen" | "ioerr" | "other";

function kindOf(error: SqliteError): Kind {
  const code = (error.errcode ?? -1) & 0xff;
  const text = error.message;
  if (code === SQLITE_FULL || /database or disk is full/.test(text)) return "full";
  if (code === SQLITE_READONLY || /readonly database/.test(text)) return "readonly";
  if (code === SQLITE_CORRUPT || /disk image is malformed/.test(text)) return "corrupt";
  if (code === SQLITE_NOTADB || /file is not a database/.test(text)) return "notadb";
  if (code === SQLITE_CANTOPEN || /unable to open database/.test(text)) return "cantopen";
  if (code === SQLITE_IOERR || /disk I\/O error/.test(text)) return "ioerr";
  return "other";
}

/**
 * Whether `error` (or what it wraps) says the disk holding the database is full: SQLite's
 * "disk full", or an I/O error (its -shm file could not grow) with no byte free.
 */
export function isDiskFull(error: unknown, path: string): boolean {
  const sqlite = sqliteCause(error);
  if (sqlite === null) return false;
  const kind = kindOf(sqlite);
  return kind === "full" || (kind === "ioerr" && freeBytes(path) === 0);
}

/** The SQLite error `error` is or wraps, if any. */
function sqliteCause(error: unknown): SqliteError | null {
  for (let e = error; e instanceof Error; e = e.cause) if (isSqliteError(e)) return e;
  return null;
}

/**
 * The failure `error` (from SQLite, on the database at `path`) as a {@linkcode PadError} with
 * one line that names the database, says what is wrong and what to do; other errors as they are.
 */
export function databaseFailure(error: unknown, path: string): unknown {
  if (!isSqliteError(error)) return error;
  const dir = dirname(path);
  let why = error.message;
  let kind = isDiskFull(error, path) ? "full" : kindOf(error);
  if (kind === "cantopen" || kind === "readonly") {
    // SQLite says "unable to open" for a file it may read but not write (a read-only mount).
    const refused = writeRefused(path);
    if (refused !== null) [kind, why] = ["readonly", refused];
  }
  let message: string;
  switch (kind) {
    case "full":
      message = `Cannot write database ${path}: the disk it is on is full${
        describeFree(path)
      }; free space there, or run "pad prune", which can free space even on a full disk`;
      break;
    case "readonly":
      message = `Cannot write database ${path}: it is read-only (${why}); check the permissions ` +
        `of the file and of ${dir}, and that its file system is mounted read-write`;
      break;
    case "corrupt":
      return damaged(path, why, error);
    case "notadb":
      message = `Not a pad database: ${path} is not an SQLite database (${why}); pass --db ` +
        "the path of pad's database";
      break;
    case "cantopen":
      message = `Cannot open database ${path}: ${why}; check that ${dir} exists and that ` +
        "pad may read and write in it";
      break;
    case "ioerr":
      message = `Cannot use database ${path}: the disk failed to read or write it (SQLite: ` +
        `${why}); check the disk and its file system`;
      break;
    default:
      message = `Database ${path}: ${why}`;
  }
  return new PadError(message, { cause: error });
}

/** Why the file at `path` cannot be opened for writing (the system's words), or null if it can. */
function writeRefused(path: string): string | null {
  try {
    Deno.openSync(path, { write: true }).close();
    return null;
  } catch (error) {
    return error instanceof Deno.errors.NotFound ? null : (error as Error).message;
  }
}

/** The database is damaged: say so, and how to get back what can be read. */
export function damaged(path: string, why: string, cause?: unknown): PadError {
  return new PadError(
    `Database ${path} is damaged (SQLite: ${why}): restore it from a backup, or copy what it ` +
      `still holds into a new one with: pad --db ${path}.recovered init --recover ${path}`,
    { cause },
  );
}

/** Bytes free on the file system holding `path` (from df), or null when unknown. */
function freeBytes(path: string): number | null {
  try {
    const output = new Deno.Command("df", { args: ["-Pk", dirname(path)], stderr: "null" })
      .outputSync();
    if (!output.success) return null;
    const fields = new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!.split(/\s+/);
    const kib = Number(fields[3]);
    return Number.isFinite(kib) ? kib * 1024 : null;
  } catch {
    return null; // no df: the figure is left out
  }
}

function describeFree(path: string): string {
  const free = freeBytes(path);
  return free === null ? "" : ` (${(free / 1_000_000).toFixed(1)} MB free)`;
}
