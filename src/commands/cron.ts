import { dirname, resolve } from "node:path";
import { Command } from "@commander-js/extra-typings";
import { type CommandContext, flag, repeatable } from "../cli.ts";
import { parsePath } from "../parse.ts";
import { errorMessage, PadError, UsageError } from "../errors.ts";
import { logger } from "../log.ts";
import type { Output } from "../output.ts";
import { cronBlock, installBlock, removeBlock } from "../fleet/cron_block.ts";
import { checkPrometheusFile } from "../fleet/prometheus.ts";
import { checkWritableDirectory } from "../atomic_file.ts";
import { alertmanagerUrl } from "../fleet/notify.ts";
import { cronLines, logDirectory } from "../fleet/cron_lines.ts";
import { readCrontab, writeCrontab } from "../fleet/crontab.ts";

/** `pad cron`: its flags, help and action. */
export function cronCommand(context: CommandContext) {
  return new Command("cron")
    .description("print pad's crontab lines (collect, detect, prune), or install/uninstall them")
    .option("--install", "add the lines to your crontab (idempotent; other lines untouched)")
    .option("--uninstall", "remove exactly pad's lines from your crontab")
    .option(
      "--log-dir <dir>",
      "where the jobs append their logs (default: next to the database)",
      flag(parsePath, "--log-dir"),
    )
    .option(
      "--prometheus <file>",
      "make the collect and detect lines refresh this node_exporter textfile",
      flag(parsePath, "--prometheus"),
    )
    .option(
      "--alertmanager <url>",
      "make the detect line tell this Alertmanager about incidents (repeatable)",
      repeatable,
    )
    .action(async (opts) => {
      if (opts.install && opts.uninstall) {
        throw new UsageError("--install and --uninstall exclude each other: choose one");
      }
      const action = opts.install ? "install" : opts.uninstall ? "uninstall" : "print";
      await runCron(
        {
          db: context.db(),
          action,
          logDir: opts.logDir,
          prometheus: opts.prometheus,
          alertmanager: opts.alertmanager,
        },
        context.stdout,
      );
    });
}

/** Options of `pad cron`. */
export interface CronOptions {
  db: string;
  action: "print" | "install" | "uninstall";
  /** Directory of the log files the cron lines append to. */
  logDir?: string;
  /** A node_exporter textfile the collect and detect lines refresh (`--prometheus`). */
  prometheus?: string;
  /** Alertmanagers the detect line tells (`--alertmanager`). */
  alertmanager?: string[];
}

const log = logger("cron");

/**
 * Prints pad's crontab block for the database (collect every minute, detect hourly, prune
 * daily), or installs it in the user's crontab (replacing the database's earlier block), or
 * removes it. Other lines of the crontab are never changed.
 */
export async function runCron(options: CronOptions, out: Output): Promise<void> {
  const db = resolve(options.db);
  // The lines would otherwise replace the database (or a device) with metrics every minute.
  if (options.prometheus !== undefined) checkPrometheusFile(db, options.prometheus);
  const setup = {
    db,
    logDir: options.logDir,
    prometheus: options.prometheus,
    alertmanager: options.alertmanager?.map(alertmanagerUrl),
  };
  const block = cronBlock(db, cronLines(setup));
  if (options.action === "print") {
    out.write(block.join("\n") + "\n");
    return;
  }
  // Otherwise the lines would fail every minute, in a log nobody reads.
  if (options.action === "install" && options.prometheus !== undefined) {
    checkWritableDirectory(dirname(resolve(options.prometheus)), "--prometheus");
  }
  const crontab = readCrontab();
  if (options.action === "uninstall") {
    const edit = removeBlock(crontab, db);
    if (edit.found === 0) {
      out.write(`No pad cron lines for ${db} in your crontab: nothing to remove\n`);
      return;
    }
    await writeCrontab(edit.text);
    out.write(`Removed pad's cron lines for ${db} from your crontab\n`);
    return;
  }
  const logDir = logDirectory(setup);
  // Otherwise every job would fail at its `>>` before pad even starts.
  try {
    Deno.mkdirSync(logDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new PadError(`Cannot create the log directory ${logDir}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const edit = installBlock(crontab, db, block);
  if (!edit.changed) {
    out.write(`pad's cron lines for ${db} are already in your crontab, unchanged\n`);
    return;
  }
  await writeCrontab(edit.text);
  log.info("Logs go to {logDir}; --quiet keeps them to warnings and errors", { logDir });
  out.write(
    `${edit.found > 0 ? "Replaced" : "Installed"} pad's cron lines for ${db} ` +
      `in your crontab (collect every minute, detect hourly, prune daily)\n`,
  );
}
