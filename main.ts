/**
 * pad — port anomaly detector. The command line: the global flags, the subcommands (each
 * defined in its own file under src/cli/, run by its implementation under src/commands/),
 * logging, and the mapping of what happened to an exit code. The only place that exits.
 */
import config from "./deno.json" with { type: "json" };
// Only the commands' definitions (src/cli/) load at start-up; each imports its implementation
// (the database, capture, the model…) when it runs, so --help, --version and the quick commands
// do not pay for the rest. tests/layers_test.ts checks that start-up loads none of it.
import { type AnyCommand, Command, Option } from "./src/cli/command.ts";
import { type CommandContext, type Configuration, flag } from "./src/cli/shared.ts";
import { configCommand } from "./src/cli/config.ts";
import { collectCommand } from "./src/cli/collect.ts";
import { completionsCommand } from "./src/cli/completions.ts";
import { cronCommand } from "./src/cli/cron.ts";
import { detectCommand } from "./src/cli/detect.ts";
import { doctorCommand } from "./src/cli/doctor.ts";
import { exportCommand } from "./src/cli/export.ts";
import { importCommand } from "./src/cli/import.ts";
import { acceptCommand, ackCommand, incidentsCommand } from "./src/cli/incidents.ts";
import { initCommand } from "./src/cli/init.ts";
import { inspectCommand } from "./src/cli/inspect.ts";
import { modelCommand } from "./src/cli/model.ts";
import { pruneCommand } from "./src/cli/prune.ts";
import { reportCommand } from "./src/cli/report.ts";
import { statusCommand } from "./src/cli/status.ts";
import { systemdCommand } from "./src/cli/systemd.ts";
import { BusyError, errorMessage, ExitCode, UsageError } from "./src/errors.ts";
import { LOG_FORMATS, logger, setupLogging } from "./src/log.ts";
import { stdout } from "./src/output.ts";
import { parsePath } from "./src/parse.ts";
import { defaultDatabasePath } from "./src/store/default_path.ts";
import { databaseFailure } from "./src/store/failure.ts";

/** pad's version, printed by `pad --version` (deno.json's, as model files record it). */
export const VERSION: string = config.version;

/** The subcommands, in the order `pad --help` lists them. */
const COMMANDS = [
  initCommand,
  statusCommand,
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
  systemdCommand,
  exportCommand,
  modelCommand,
];

/**
 * Builds the command line and the context its commands run in; `setStatus` receives a
 * command's exit code when it is not 0.
 */
export function buildProgram(setStatus: (code: number) => void) {
  const program = new Command("pad")
    .description("Port anomaly detector: which local ports are used, what flows, what is unusual.")
    .version(VERSION)
    .addOption(
      // $PAD_DB through the parser, so that it outranks the configuration file as flags do.
      new Option(
        "--db <path>",
        "database file (default: $PAD_DB, else the configuration's db, else $XDG_DATA_HOME/pad/pad.db, else ~/.local/share/pad/pad.db)",
      ).env("PAD_DB").argParser(flag(parsePath, "--db")),
    )
    .addOption(
      new Option("--log-format <format>", "log format on stderr").choices(LOG_FORMATS).default(
        "text" as const,
      ),
    )
    .option("-q, --quiet", "only warnings and errors (for cron)")
    .option("--debug", "debug logs, and the stack trace on failure")
    .option(
      "--config <file>",
      "configuration file (default: $PAD_CONFIG, else $XDG_CONFIG_HOME/pad/pad.toml, else /etc/pad/pad.toml, if there)",
      flag(parsePath, "--config"),
    )
    .hook("preAction", async (command, action) => {
      // Help and completion work whatever the configuration holds.
      if (!["help", "completions"].includes(action.name())) {
        const { applyConfig, findConfig, readConfig } = await import("./src/config.ts");
        const path = findConfig(command.opts().config);
        configuration = {
          path,
          sources: path === null ? new Map() : applyConfig(program, await readConfig(path)),
        };
      }
      const opts = command.opts();
      setupLogging({
        format: opts.logFormat,
        quiet: opts.quiet ?? false,
        debug: opts.debug ?? false,
      });
    });

  let configuration: Configuration = { path: null, sources: new Map() };
  const db = () => program.opts().db ?? defaultDatabasePath();
  const context: CommandContext = {
    db,
    configuration: () => configuration,
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
  for (const define of COMMANDS) program.addCommand(define(context));
  program.addCommand(completionsCommand(program, stdout));
  program.addCommand(configCommand(program, context));
  program.command("help")
    .description("display help for a command, e.g. pad help model merge")
    .argument("[command...]", "the command, and its subcommand")
    .option("--man", "print the manual page pad(1) in roff (man -l - reads it)")
    .action(async (names: string[], opts: { man?: boolean }) => {
      if (opts.man) {
        const { manPage } = await import("./src/commands/completions.ts");
        stdout.write(manPage(program, VERSION, new Date().toISOString().slice(0, 10)));
        return;
      }
      let command: AnyCommand = program;
      for (const name of names) {
        const sub = command.subcommand(name);
        if (sub === undefined) {
          throw new UsageError(`Unknown command "${names.join(" ")}": pad --help lists them`);
        }
        command = sub;
      }
      stdout.write(command.helpText());
    });
  return { program, context };
}

/** Runs pad with `args` (without the program name) and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const debug = args.includes("--debug");
  // Until the flags are parsed, errors are reported as text; the preAction hook reconfigures.
  setupLogging({ format: "text", quiet: false, debug });
  let status: number = ExitCode.Ok;
  const { program, context } = buildProgram((code) => status = code);
  try {
    await program.parseAsync(args);
    return status;
  } catch (error) {
    const db = context.dbIfKnown();
    // SQLite's own words name neither the database nor what to do.
    return exitCodeFor(db === undefined ? error : databaseFailure(error, db), debug);
  }
}

function exitCodeFor(error: unknown, debug: boolean): number {
  const log = logger();
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
