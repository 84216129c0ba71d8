import { Command } from "@commander-js/extra-typings";
import { type CommandContext, examples, flag } from "../cli.ts";
import { UsageError } from "../errors.ts";
import type { Output } from "../output.ts";
import { parsePath } from "../parse.ts";
import { databaseFiles, openAndMigrate } from "../store/database.ts";
import { hasRounds } from "../store/rounds.ts";
import { recoverInto } from "../store/recover.ts";

/** `pad init`: its flags, help and action. */
export function initCommand(context: CommandContext) {
  return new Command("init")
    .description("create or upgrade the database; print its path and schema version")
    .option(
      "--recover <damaged>",
      "create the database from the rows a damaged one still holds",
      flag(parsePath, "--recover"),
    )
    .addHelpText(
      "after",
      examples([
        ["pad init", "create the database (collect and import also do, when it is missing)"],
        [
          "pad --db ~/pad.saved.db init --recover ~/.local/share/pad/pad.db",
          "save what a damaged database still holds",
        ],
      ]),
    )
    .action((opts) => {
      runInit({ db: context.db(), recover: opts.recover }, context.stdout);
    });
}

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
          t.dropped > 0 ? `${t.dropped} rows dropped whose round was lost` : "",
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
