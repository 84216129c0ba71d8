import type { Output } from "../output.ts";
import { openAndMigrate } from "../store/database.ts";

/** Options of `pad init`. */
export interface InitOptions {
  db: string;
}

/** What `pad init` did. */
export interface InitResult {
  path: string;
  created: boolean;
  from: number;
  version: number;
}

/** Creates or upgrades the database and prints its path and schema version; idempotent. */
export function runInit(options: InitOptions, out: Output): InitResult {
  const { db, created, from, to } = openAndMigrate(options.db);
  db.close();
  const what = created || from === 0
    ? "created"
    : from < to
    ? `upgraded from version ${from}`
    : "up to date";
  out.write(`${options.db}\tschema version ${to} (${what})\n`);
  return { path: options.db, created, from, version: to };
}
