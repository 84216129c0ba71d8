/**
 * The crontab lines that run pad: collect every minute, detect hourly, prune daily, each with
 * absolute paths (cron's PATH is `/usr/bin:/bin` and its working directory is `$HOME`) and each
 * appending its logs to its own log file. Detect's stdout is left to cron, which mails it (to
 * MAILTO): with `--quiet` it holds exactly the incidents a run opened.
 *
 * @module
 */
import { basename, dirname, extname, fileURLToPath, join, resolve } from "../path.ts";
import { PadError, UsageError } from "../errors.ts";

/**
 * The runtime flags of deno.json's `pad` task, which the compiled binary also gets; a test
 * checks they stay the same.
 */
export const PAD_RUN_FLAGS = ["--unstable-net", "--allow-all"] as const;

/** What the cron lines run against. */
export interface CronSetup {
  /** The database; made absolute. */
  db: string;
  /** Where the logs go; default the database's directory. Made absolute. */
  logDir?: string;
  /** A node_exporter textfile that collect and detect refresh as they finish. */
  prometheus?: string;
  /** Alertmanagers the detect line tells about incidents. */
  alertmanager?: readonly string[];
}

/** One of pad's scheduled jobs: when it runs (in cron's words and systemd's) and its words. */
export interface ScheduledJob {
  role: "collect" | "detect" | "prune";
  cron: string;
  /** systemd's OnCalendar= */
  calendar: string;
  /** The whole command: pad, the database, --quiet, the role and its flags. */
  words: string[];
}

/** collect every minute, detect hourly (at :05, after the hour's rounds), prune daily. */
export function scheduledJobs(setup: CronSetup, command: readonly string[]): ScheduledJob[] {
  const db = resolve(setup.db);
  const prometheus = setup.prometheus === undefined
    ? []
    : ["--prometheus", resolve(setup.prometheus)];
  const alertmanager = (setup.alertmanager ?? []).flatMap((url) => ["--alertmanager", url]);
  const job = (role: ScheduledJob["role"], cron: string, calendar: string, args: string[]) => ({
    role,
    cron,
    calendar,
    words: [...command, "--db", db, "--quiet", role, ...args],
  });
  return [
    job("collect", "* * * * *", "*-*-* *:*:00", ["--probe", "procfs", ...prometheus]),
    job("detect", "5 * * * *", "*-*-* *:05:00", [...prometheus, ...alertmanager]),
    job("prune", "0 0 * * *", "*-*-* 00:00:00", []),
  ];
}

/** pad's crontab lines for one database, in the order collect, detect, prune. */
export function cronLines(setup: CronSetup, command: readonly string[] = padCommand()): string[] {
  const db = resolve(cronSafe(setup.db, "--db"));
  const logDir = resolve(cronSafe(setup.logDir ?? dirname(db), "--log-dir"));
  if (setup.prometheus !== undefined) cronSafe(setup.prometheus, "--prometheus");
  for (const url of setup.alertmanager ?? []) cronSafe(url, "--alertmanager");
  for (const word of command) cronSafe(word, "pad's own path", PadError);
  const stem = basename(db, extname(db));
  return scheduledJobs(setup, command).map(({ role, cron, words }) => {
    const log = shellQuote(join(logDir, `${stem}-${role}.log`));
    // Detect's stdout is left to cron, which mails it.
    const redirect = role === "detect" ? `2>> ${log}` : `>> ${log} 2>&1`;
    return escapePercent(`${cron} ${shellWords(words)} ${redirect}`);
  });
}

/** The log directory the lines of `setup` write to (absolute). */
export function logDirectory(setup: CronSetup): string {
  return resolve(setup.logDir ?? dirname(resolve(setup.db)));
}

/**
 * The command that runs this pad: the binary itself when compiled, else this Deno with the
 * `pad` task's flags and the absolute path of main.ts.
 */
export function padCommand(): string[] {
  if (Deno.build.standalone) return [Deno.execPath()];
  // main.ts is found from this module rather than Deno.mainModule, which is whatever script
  // imported pad (a test file, for one).
  const main = new URL("../../main.ts", import.meta.url);
  if (main.protocol !== "file:") {
    throw new PadError(
      `pad runs from ${main.href}, which cron cannot run: ` +
        "install pad as a file (deno task compile) and run pad cron from there",
    );
  }
  return [Deno.execPath(), "run", ...PAD_RUN_FLAGS, fileURLToPath(main)];
}

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** `word` as one word for /bin/sh: as is when safe, else in single quotes. */
export function shellQuote(word: string): string {
  return SHELL_SAFE.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function shellWords(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}

/**
 * cron turns an unescaped `%` of the command into a newline (crontab(5)) and removes the
 * backslash of `\%` before the shell sees it, quoted or not.
 */
function escapePercent(line: string): string {
  return line.replaceAll("%", "\\%");
}

/**
 * Refuses what a crontab line cannot carry: a line break ends the line, and a backslash is read
 * differently by different crons (Vixie cron 4 and OpenBSD's turn `\\` into `\`, others keep
 * both).
 */
function cronSafe(
  path: string,
  what: string,
  ErrorClass: typeof UsageError | typeof PadError = UsageError,
): string {
  const bad = /[\n\r\\]/.exec(path);
  if (bad) {
    const name = bad[0] === "\\" ? "a backslash" : "a line break";
    throw new ErrorClass(
      `Cannot write ${what} "${path}" in a crontab line: it contains ${name}; ` +
        "use a path without one",
    );
  }
  return path;
}
