/**
 * pad — port anomaly detector. The command line: the global flags, the subcommands (each
 * declared in its own file under src/commands/), logging, and the mapping of what happened to
 * an exit code. The only place that exits.
 */
import config from "./deno.json" with { type: "json" };
import {
  Command,
  CommanderError,
  type CommandUnknownOpts,
  Option,
} from "@commander-js/extra-typings";
import { type CommandContext, flag } from "./src/cli.ts";
import { collectCommand } from "./src/commands/collect.ts";
import { cronCommand } from "./src/commands/cron.ts";
import { detectCommand } from "./src/commands/detect.ts";
import { doctorCommand } from "./src/commands/doctor.ts";
import { exportCommand } from "./src/commands/export.ts";
import { importCommand } from "./src/commands/import.ts";
import { acceptCommand, ackCommand, incidentsCommand } from "./src/commands/incidents.ts";
import { initCommand } from "./src/commands/init.ts";
import { inspectCommand } from "./src/commands/inspect.ts";
import { modelCommand } from "./src/commands/model.ts";
import { pruneCommand } from "./src/commands/prune.ts";
import { reportCommand } from "./src/commands/report.ts";
import { BusyError, errorMessage, ExitCode, UsageError } from "./src/errors.ts";
import { LOG_FORMATS, logger, setupLogging } from "./src/log.ts";
import { stdout } from "./src/output.ts";
import { parsePath } from "./src/parse.ts";
import { defaultDatabasePath } from "./src/store/database.ts";
import { databaseFailure } from "./src/store/failure.ts";

/** pad's version, printed by `pad --version` (deno.json's, as model files record it). */
export const VERSION: string = config.version;

/** The subcommands, in the order `pad --help` lists them. */
const COMMANDS = [
  initCommand,
  collectCommand,
  importCommand,
  detectCommand,
  incidentsCommand,
  ackCommand,
  acceptCommand,
  doctorCommand,
  inspectCommand,
  pruneCommand,
  reportCommand,
  cronCommand,
  exportCommand,
  modelCommand,
];

/**
 * Builds the command line and the context its commands run in; `setStatus` receives a
 * command's exit code when it is not 0.
 */
export function buildProgram(setStatus: (code: number) => void) {
  const program = new Command()
    .name("pad")
    .description("Port anomaly detector: which local ports are used, what flows, what is unusual.")
    .version(VERSION)
    .option(
      "--db <path>",
      "database file (default: $PAD_DB, else ~/.local/share/pad/pad.db)",
      flag(parsePath, "--db"),
    )
    .addOption(
      new Option("--log-format <format>", "log format on stderr").choices(LOG_FORMATS).default(
        "text" as const,
      ),
    )
    .option("-q, --quiet", "only warnings and errors (for cron)")
    .option("--debug", "debug logs, and the stack trace on failure")
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .hook("preAction", (command) => {
      const opts = command.opts();
      setupLogging({
        format: opts.logFormat,
        quiet: opts.quiet ?? false,
        debug: opts.debug ?? false,
      });
    });

  const db = () => program.opts().db ?? defaultDatabasePath();
  const context: CommandContext = {
    db,
    dbIfKnown() {
      try {
        return db();
      } catch {
        return undefined;
      }
    },
    stdout,
    // Summaries are for people; cron mails any output, so --quiet sends them nowhere.
    summary: () => program.opts().quiet ? { write: () => {}, isTerminal: false } : stdout,
    quiet: () => program.opts().quiet ?? false,
    setStatus,
  };
  for (const define of COMMANDS) {
    const command = define(context);
    inheritSettings(command, program);
    program.addCommand(command);
  }
  return { program, context };
}

/**
 * Gives a subcommand, and its own subcommands, the program's settings (exit override, help
 * configuration): `addCommand` does not copy them, unlike `.command()`.
 */
function inheritSettings(command: CommandUnknownOpts, parent: CommandUnknownOpts): void {
  command.copyInheritedSettings(parent);
  for (const child of command.commands) inheritSettings(child, command);
}

/** Runs pad with `args` (without the program name) and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const debug = args.includes("--debug");
  // Until the flags are parsed, errors are reported as text; the preAction hook reconfigures.
  setupLogging({ format: "text", quiet: false, debug });
  let status: number = ExitCode.Ok;
  const { program, context } = buildProgram((code) => status = code);
  try {
    await program.parseAsync(args, { from: "user" });
    return status;
  } catch (error) {
    const db = context.dbIfKnown();
    // SQLite's own words name neither the database nor what to do.
    return exitCodeFor(db === undefined ? error : databaseFailure(error, db), debug);
  }
}

function exitCodeFor(error: unknown, debug: boolean): number {
  const log = logger();
  if (error instanceof CommanderError) {
    // Commander has printed its one-line message (or the help, or the version) already.
    return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  if (error instanceof UsageError) {
    log.error(error.message);
    return ExitCode.Usage;
  }
  if (error instanceof BusyError) {
    log.warn(error.message);
    return ExitCode.Busy;
  }
  log.error(errorMessage(error));
  if (debug && error instanceof Error && error.stack) log.error(error.stack);
  return ExitCode.Failure;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
