/**
 * `pad cron`: pad's crontab lines (collect every minute, detect hourly, prune daily), printed,
 * installed or removed. Its flags are defined in src/cli/cron.ts, which loads this module when
 * it runs.
 *
 * @module
 */
import { dirname, resolve } from "../path.ts";
import { errorMessage, PadError } from "../errors.ts";
import { logger } from "../log.ts";
import type { Output } from "../output.ts";
import { cronBlock, installBlock, removeBlock } from "../fleet/cron_block.ts";
import { checkPrometheusFile } from "../fleet/prometheus.ts";
import { checkWritableDirectory } from "../atomic_file.ts";
import { alertmanagerUrl } from "../fleet/notify.ts";
import { cronLines, logDirectory } from "../fleet/cron_lines.ts";
import { readCrontab, writeCrontab } from "../fleet/crontab.ts";

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
