import { printable } from "./text.ts";
import {
  configureSync,
  getJsonLinesFormatter,
  getLogger,
  type Logger,
  type LogLevel,
  type LogRecord,
} from "@logtape/logtape";

/** How logs are written: always to stderr, so stdout carries only data. */
export interface LogOptions {
  /** `text` reads well on a terminal and in mail from cron; `json` is one object per line. */
  format: "text" | "json";
  /** Only warnings and errors. */
  quiet: boolean;
  /** Debug messages too (and stacks on failure, which main.ts prints). */
  debug: boolean;
}

/** Log formats `--log-format` accepts. */
export const LOG_FORMATS = ["text", "json"] as const;

const encoder = new TextEncoder();

/** Configures logtape once per process; later calls replace the configuration. */
export function setupLogging(options: LogOptions): void {
  const lowestLevel: LogLevel = options.debug ? "debug" : options.quiet ? "warning" : "info";
  const json = getJsonLinesFormatter();
  // A person at a terminal knows the time; cron mail and log files need it; journald stamps
  // each line itself (systemd sets JOURNAL_STREAM when stderr goes to the journal).
  const stamped = !Deno.stderr.isTerminal() && !toJournal();
  const format = options.format === "json"
    ? (record: LogRecord) => json(record).trimEnd() + "\n"
    : (record: LogRecord) => formatText(record, stamped);
  // Synchronous writes: a message logged just before Deno.exit() is never lost.
  const stderrSink = (record: LogRecord) => {
    Deno.stderr.writeSync(encoder.encode(format(record)));
  };
  configureSync({
    reset: true,
    sinks: { stderr: stderrSink },
    loggers: [
      { category: ["pad"], lowestLevel, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

/** Whether stderr is the journal: JOURNAL_STREAM names its device and inode (systemd.exec(5)). */
function toJournal(): boolean {
  const stream = Deno.env.get("JOURNAL_STREAM");
  if (!stream) return false;
  try {
    const stat = Deno.statSync("/proc/self/fd/2"); // Linux, where systemd runs
    return stream === `${stat.dev}:${stat.ino}`;
  } catch {
    return false;
  }
}

/** The logger of one part of pad, e.g. `logger("collect")`; without a name, pad's own. */
export function logger(name?: string): Logger {
  return getLogger(name ? ["pad", name] : ["pad"]);
}

const LEVEL_LABEL: Record<LogLevel, string> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warning: "warning",
  error: "error",
  fatal: "fatal",
};

/** `warning: collect: Capture is off: …`, with an ISO time in front when `stamped`. */
function formatText(record: LogRecord, stamped: boolean): string {
  const text = record.message
    .map((part, i) => i % 2 === 0 ? String(part) : renderValue(part))
    .join("");
  const where = record.category.slice(1).join(".");
  const time = stamped ? new Date(record.timestamp).toISOString() + " " : "";
  return `${time}${LEVEL_LABEL[record.level]}: ${where ? where + ": " : ""}${text}\n`;
}

/** A value as text, control characters escaped: file and process names come from outside. */
function renderValue(value: unknown): string {
  return printable(
    typeof value === "string" ? value : Deno.inspect(value, { colors: false, depth: 4 }),
  );
}
