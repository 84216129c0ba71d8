/**
 * `pad init`: creates or upgrades the database, or fills a new one from a damaged one. Its flags
 * are defined in src/cli/init.ts, which loads this module when it runs.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import type { Output } from "../output.ts";
import { databaseFiles, openAndMigrate } from "../store/database.ts";
import { hasRounds } from "../store/rounds.ts";
import { recoverInto } from "../store/recover.ts";

/** Options of `pad init`. */
export interface InitOptions {
  db: string;
  /** A damaged database whose readable rows fill the new one. */
  recover?: string;
}

/** What `pad init` did. */
export interface InitResult {
  path: string;
  created: boolean;
  from: number;
  version: number;
}

/**
 * Creates or upgrades the database and prints its path and schema version; idempotent. With
 * `recover`, creates it from what the damaged database still holds.
 */
export function runInit(options: InitOptions, out: Output): InitResult {
  if (options.recover !== undefined) refuseRecovery(options);
  const { db, created, from, to } = openAndMigrate(options.db);
  try {
    const what = created || from === 0
      ? "created"
      : from < to
      ? `upgraded from version ${from}`
      : "up to date";
    out.write(`${options.db}\tschema version ${to} (${what})\n`);
    if (options.recover !== undefined) {
      if (!created && hasRounds(db)) {
        throw new UsageError(
          `Invalid --db "${options.db}": it already holds rounds; recover into a new file`,
        );
      }
      const recovery = recoverInto(db, options.recover);
      for (const t of recovery.tables) {
        const lost = [
          t.unreadable > 0 ? `${t.unreadable} unreadable stretches skipped` : "",
          t.dropped > 0 ? `${t.dropped} rows dropped whose round or parent row was lost` : "",
        ].filter((s) => s !== "").join(", ");
        out.write(`${t.table}\t${t.rows} rows recovered${lost ? ` (${lost})` : ""}\n`);
      }
    }
    return { path: options.db, created, from, version: to };
  } finally {
    db.close();
  }
}

/** The database to recover must be another file than the new one. */
function refuseRecovery(options: InitOptions): void {
  const real = (path: string) => {
    try {
      return Deno.realPathSync(path);
    } catch {
      return null;
    }
  };
  const source = real(options.recover!);
  if (source === null) {
    throw new UsageError(`Invalid --recover "${options.recover}": no such file`);
  }
  if (databaseFiles(options.db).map(real).includes(source)) {
    throw new UsageError(
      `Invalid --recover "${options.recover}": it is the database being created (--db); ` +
        "give --db a new file",
    );
  }
}
