import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { dirname, resolve } from "../path.ts";
import { kindOf } from "../atomic_file.ts";
import { errorMessage, PadError, UsageError } from "../errors.ts";
import { damaged, databaseFailure, isSqliteError } from "./failure.ts";
import { LOCK_ROLES, lockPath } from "./lock.ts";
import { keepReserve, reservePath } from "./reserve.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations.ts";

/** An open pad database (node:sqlite's synchronous connection). */
export type Database = DatabaseSync;

/** Rows per statement of {@linkcode insertRows}: 12 columns × 64 is far below SQLite's limit. */
const ROWS_PER_INSERT = 64;

/**
 * Inserts `rows` (values in `columns` order) into `table`, up to 64 rows per statement: with
 * one statement per row, the call itself is most of the cost of a packet row. `onConflict`
 * ends each statement, e.g. "ON CONFLICT DO NOTHING".
 */
export function insertRows(
  db: Database,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly SQLInputValue[])[],
  onConflict = "",
): void {
  const statement = (count: number) =>
    prepared(
      db,
      `INSERT INTO ${table} (${columns.join(", ")}) VALUES ` +
        Array(count).fill(`(${columns.map(() => "?").join(", ")})`).join(", ") +
        (onConflict ? ` ${onConflict}` : ""),
    );
  const full = rows.length >= ROWS_PER_INSERT ? statement(ROWS_PER_INSERT) : null;
  for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) {
    const chunk = rows.slice(at, at + ROWS_PER_INSERT);
    (chunk.length === ROWS_PER_INSERT ? full! : statement(chunk.length)).run(...chunk.flat());
  }
}

const statements = new WeakMap<Database, Map<string, StatementSync>>();

/**
 * `sql` prepared once per connection: the statements that store a round run for every round,
 * and preparing them again each time was a tenth of an import's time.
 */
export function prepared(db: Database, sql: string): StatementSync {
  let cache = statements.get(db);
  if (!cache) statements.set(db, cache = new Map());
  let statement = cache.get(sql);
  if (!statement) cache.set(sql, statement = db.prepare(sql));
  return statement;
}

/**
 * Many small transactions as one, committed every `everyMs` (and by `commit()`): a bulk writer
 * (import) pays one commit for many rounds, and each round is still whole. Disposed with its
 * transaction open — an error on the way — it rolls back what it had not committed.
 */
export class WriteBatch implements Disposable {
  #began = 0;

  constructor(readonly db: Database, readonly everyMs = 250) {}

  /** Runs `fn` inside the batch's transaction, and commits when the batch is old enough. */
  run<T>(fn: () => T): T {
    if (!this.db.isTransaction) {
      begin(this.db);
      this.#began = performance.now();
    }
    const result = fn();
    if (performance.now() - this.#began >= this.everyMs) this.commit();
    return result;
  }

  commit(): void {
    if (this.db.isTransaction) commit(this.db);
  }

  [Symbol.dispose](): void {
    if (this.db.isTransaction) this.db.exec("ROLLBACK");
  }
}

/**
 * How long a statement waits for another process's write lock before failing. The cron roles
 * overlap (collect every minute, detect hourly, prune daily) and each holds the lock only for
 * short transactions, so a generous wait means they never fail because of each other.
 */
export const BUSY_TIMEOUT_MS = 60_000;

/**
 * Opens the database for writing, creating it (mode 0600, in a 0700 directory pad creates) if
 * needed, and migrates it to {@linkcode SCHEMA_VERSION}. A database from a newer pad is refused
 * before anything is written to it.
 */
export function openDatabase(path: string): Database {
  return openAndMigrate(path).db;
}

/** What {@linkcode openAndMigrate} found and did. */
export interface OpenReport {
  db: Database;
  created: boolean;
  /** Schema version before, and after migrating. */
  from: number;
  to: number;
}

/** {@linkcode openDatabase}, telling whether the file was created and what was migrated. */
export function openAndMigrate(path: string): OpenReport {
  const created = createPrivateFile(path);
  const db = open(path, false);
  try {
    refuseNewerSchema(db, path);
    if (pragma(db, "page_count") === 0) {
      // Must precede the first table; it lets prune give space back without a full VACUUM.
      db.exec("PRAGMA auto_vacuum = INCREMENTAL");
    }
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    const migrated = migrate(db);
    keepReserve(path);
    return { db, created, ...migrated };
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * {@linkcode openDatabase} for the commands that work on what collect stored (detect, prune,
 * ack, accept): a missing file is an error rather than a new empty database, which would hide a
 * mistyped --db in a crontab for ever.
 */
export function openExistingDatabase(path: string): Database {
  refuseMissing(path);
  return openDatabase(path);
}

function refuseMissing(path: string): void {
  if (!refuseNonRegularFile(path)) {
    throw new PadError(
      `No database at ${path}: run "pad init" or "pad collect" first, or pass --db PATH`,
    );
  }
}

/**
 * Opens an existing database read-only: never creates a file, never migrates. A missing file
 * or a schema from a newer pad is a {@linkcode PadError}.
 */
export function openDatabaseReadOnly(path: string): Database {
  refuseMissing(path);
  const db = open(path, true);
  try {
    refuseNewerSchema(db, path);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Throws a {@linkcode PadError} saying what to do when SQLite's `quick_check` finds the
 * database damaged. It reads every page, so it runs where that is cheap next to the work
 * (prune, doctor, inspect's overview), not every minute.
 */
export function checkIntact(db: Database, path: string): void {
  const found = db.prepare("PRAGMA quick_check(2)").all()
    .flatMap((r) => String(Object.values(r)[0]).split("\n"))
    .filter((line) => !line.startsWith("***"));
  if (found.length === 1 && found[0] === "ok") return;
  throw damaged(path, found.slice(0, 2).join("; "));
}

/**
 * Applies every migration newer than the database's `user_version`, each in one transaction.
 * Foreign keys are off meanwhile, as SQLite's way of rebuilding a table asks (a dropped table
 * would otherwise take its dependants' rows with it), and checked before each commit.
 */
export function migrate(db: Database): { from: number; to: number } {
  const from = pragma(db, "user_version");
  if (MIGRATIONS.every((m) => m.version <= from)) return { from, to: from };
  db.exec("PRAGMA foreign_keys = OFF");
  try {
    for (const migration of MIGRATIONS) {
      if (migration.version <= from) continue;
      // IMMEDIATE takes the write lock up front, so two pads migrating at once take turns, and
      // the second sees the first's work when it re-reads the version inside its transaction.
      db.exec("BEGIN IMMEDIATE");
      try {
        if (pragma(db, "user_version") < migration.version) {
          db.exec(migration.sql);
          const broken = db.prepare("PRAGMA foreign_key_check").all();
          if (broken.length > 0) {
            throw new Error(`${broken.length} rows would break a foreign key`);
          }
          db.exec(`PRAGMA user_version = ${migration.version}`);
        }
        db.exec("COMMIT");
      } catch (error) {
        db.exec("ROLLBACK");
        throw new PadError(
          `Migration ${migration.name} failed, the database is unchanged: ${errorMessage(error)}`,
          { cause: error },
        );
      }
    }
  } finally {
    db.exec("PRAGMA foreign_keys = ON");
  }
  return { from, to: pragma(db, "user_version") };
}

/**
 * Runs `fn` in a write transaction (taken up front, so it waits for other writers instead of
 * failing). Inside another transaction, `fn` simply joins it.
 */
export function transaction<T>(db: Database, fn: () => T): T {
  if (db.isTransaction) return fn();
  begin(db);
  try {
    const result = fn();
    commit(db);
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

const commitWork = new WeakMap<Database, (() => void)[]>();

/**
 * Runs `fn` once the transaction open on `db` commits (at once if none is open); a transaction
 * that does not commit forgets it. For caches of what the database holds.
 */
export function afterCommit(db: Database, fn: () => void): void {
  if (!db.isTransaction) return fn();
  const work = commitWork.get(db);
  if (work) work.push(fn);
  else commitWork.set(db, [fn]);
}

function begin(db: Database): void {
  // Work left by a transaction that did not commit (rolled back, by pad or by SQLite).
  commitWork.delete(db);
  db.exec("BEGIN IMMEDIATE");
}

function commit(db: Database): void {
  db.exec("COMMIT");
  const work = commitWork.get(db) ?? [];
  commitWork.delete(db);
  for (const fn of work) fn();
}

/** Whether the database has `name` (a read-only command may open one older than its schema). */
export function hasTable(db: Database, name: string): boolean {
  return prepared(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !==
    undefined;
}

/** The database's tables (not SQLite's own), in the order they were made. */
export function tableNames(db: Database): string[] {
  return db.prepare(
    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
  ).all().map((r) => String(r.name));
}

/**
 * The columns that order a table's rows and find each one: `rowid`, or for a table stored in its
 * primary key's order (WITHOUT ROWID: port_traffic's and flows' `(round_id, id)`) that key.
 */
export function rowKey(db: Database, table: string): string[] {
  const listed = db.prepare("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?")
    .get(table);
  if (Number(listed?.wr ?? 0) !== 1) return ["rowid"];
  return db.prepare("SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk").all(table)
    .map((c) => String(c.name));
}

/** Reads an integer pragma such as `user_version` or `page_count`. */
export function pragma(db: Database, name: string): number {
  const row = db.prepare(`PRAGMA ${name}`).get();
  return Number(row ? Object.values(row)[0] : 0);
}

function open(path: string, readOnly: boolean): Database {
  try {
    return connect(path, path, readOnly);
  } catch (error) {
    // A WAL database read where SQLite cannot create its -shm file (a read-only directory):
    // with nothing in a write-ahead log, reading it as immutable is exact.
    if (readOnly && isSqliteError(error) && walIsEmpty(path)) {
      try {
        return connect(immutableUri(path), path, true);
      } catch {
        // the first error says more
      }
    }
    throw databaseFailure(error, path);
  }
}

/** Opens `name` (a path or a `file:` URI) and reads the header: a non-SQLite file fails here. */
function connect(name: string, path: string, readOnly: boolean): Database {
  const db = new DatabaseSync(name, { readOnly, enableForeignKeyConstraints: true });
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    pragma(db, "user_version");
    return db;
  } catch (error) {
    db.close();
    throw isSqliteError(error) ? error : new PadError(`Cannot open database ${path}`, {
      cause: error,
    });
  }
}

/** Whether the database has no write-ahead log, or an empty one. */
function walIsEmpty(path: string): boolean {
  try {
    return Deno.statSync(`${path}-wal`).size === 0;
  } catch (error) {
    return error instanceof Deno.errors.NotFound;
  }
}

/** A `file:` URI that opens `path` read-only without any lock or -shm file. */
function immutableUri(path: string): string {
  const absolute = resolve(path).split("/").map(encodeURIComponent).join("/");
  return `file:${absolute}?mode=ro&immutable=1`;
}

function refuseNewerSchema(db: Database, path: string): void {
  const version = pragma(db, "user_version");
  if (version > SCHEMA_VERSION) {
    throw new PadError(
      `Database ${path} has schema version ${version}, newer than this pad's ${SCHEMA_VERSION}: ` +
        "it was written by a newer pad; upgrade pad (the database was not changed)",
    );
  }
}

/**
 * The files that belong to the database at `path`: itself, SQLite's journals and pad's role
 * locks. No file pad writes may replace one of them.
 */
export function databaseFiles(path: string): string[] {
  return [
    path,
    `${path}-wal`,
    `${path}-shm`,
    `${path}-journal`,
    reservePath(path),
    ...LOCK_ROLES.map((role) => lockPath(path, role)),
  ];
}

/**
 * Whether a file exists at `path`; throws {@linkcode UsageError} when it is not a regular file:
 * SQLite would write its journal beside a device (`/dev/null-journal`) or fail obscurely.
 */
function refuseNonRegularFile(path: string): boolean {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new PadError(`Cannot open database ${path}: ${errorMessage(error)}`, { cause: error });
  }
  if (!info.isFile) {
    throw new UsageError(
      `Invalid database "${path}" (--db or $PAD_DB): it is ${kindOf(info)}, not a database ` +
        "file; give the path of a regular file (pad creates it if missing)",
    );
  }
  return true;
}

/** Creates the file with mode 0600 (and missing directories with 0700) unless it exists. */
function createPrivateFile(path: string): boolean {
  if (refuseNonRegularFile(path)) return false;
  const dir = dirname(path);
  try {
    Deno.statSync(dir);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.chmodSync(dir, 0o700); // the umask must not widen or narrow what pad asked for
  }
  try {
    Deno.openSync(path, { createNew: true, write: true, mode: 0o600 }).close();
    Deno.chmodSync(path, 0o600);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw new PadError(`Cannot create database ${path}: ${errorMessage(error)}`, { cause: error });
  }
}

/** Bytes the database takes on disk: the file and its write-ahead log. */
export function databaseFileBytes(path: string): number {
  let total = 0;
  for (const suffix of ["", "-wal"]) {
    try {
      total += Deno.statSync(path + suffix).size;
    } catch {
      // no write-ahead log right now
    }
  }
  return total;
}
