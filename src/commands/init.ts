import { Command } from "@commander-js/extra-typings";
import type { CommandContext } from "../cli.ts";
import type { Output } from "../output.ts";
import { openAndMigrate } from "../store/database.ts";

/** `pad init`: its flags, help and action. */
export function initCommand(context: CommandContext) {
  return new Command("init")
    .description("create or upgrade the database; print its path and schema version")
    .action(() => {
      runInit({ db: context.db() }, context.stdout);
    });
}

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
