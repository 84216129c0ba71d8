/**
 * pad's logger: messages to stderr, as text or as one JSON object per line.
 *
 * pad has its own because every pad process paid to start `@logtape/logtape`, which it used
 * before: under Deno that npm package imports `node:util`, which boots Deno's Node-compatibility
 * layer. `deno run` of a file importing only logtape took ~0.12 CPU s and 40 MiB, an empty file
 * 0.07 s and 28 MiB. Its output is kept: the same text lines, and JSON lines with the keys of
 * logtape's `getJsonLinesFormatter()`.
 *
 * @module
 */
import { printable } from "./text.ts";

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

/** Logs `message`, whose `{name}`s are `properties.name`; without properties it is literal. */
export type LogMethod = (message: string, properties?: Record<string, unknown>) => void;

/** The logger of one part of pad. */
export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

type Level = "debug" | "info" | "warning" | "error";
const RANK: Record<Level, number> = { debug: 0, info: 1, warning: 2, error: 3 };

/** One message: `parts` alternate text and the values its template named. */
interface LogRecord {
  time: number;
  level: Level;
  /** `collect` for `logger("collect")`; empty for pad's own. */
  name: string;
  parts: unknown[];
  properties: Record<string, unknown>;
}

/**
 * Where messages go. Until {@linkcode setupLogging} nothing is written, as with logtape
 * unconfigured: tests, bench and eval call pad's commands without it and stay quiet.
 */
let sink: { lowest: number; format: (record: LogRecord) => string } | null = null;
const encoder = new TextEncoder();

/** Sets how this process logs; later calls replace the settings. */
export function setupLogging(options: LogOptions): void {
  const lowest = RANK[options.debug ? "debug" : options.quiet ? "warning" : "info"];
  // A person at a terminal knows the time; cron mail and log files need it; journald stamps
  // each line itself (systemd sets JOURNAL_STREAM when stderr goes to the journal).
  const stamped = !Deno.stderr.isTerminal() && !toJournal();
  sink = {
    lowest,
    format: options.format === "json" ? formatJson : (record) => formatText(record, stamped),
  };
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
  const method = (level: Level): LogMethod => (message, properties) => {
    if (sink === null || RANK[level] < sink.lowest) return;
    const parts = properties === undefined
      ? [message]
      : message.split(/\{([^{}]*)\}/).map((part, i) => i % 2 === 0 ? part : properties[part]);
    const record = {
      time: Date.now(),
      level,
      name: name ?? "",
      parts,
      properties: { ...properties },
    };
    try {
      // Synchronous: a message logged just before Deno.exit() is never lost.
      const bytes = encoder.encode(sink.format(record));
      for (let n = 0; n < bytes.length;) n += Deno.stderr.writeSync(bytes.subarray(n));
    } catch {
      // A log line is not worth failing the command for (stderr closed, say); logtape's sinks
      // were the same.
    }
  };
  return {
    debug: method("debug"),
    info: method("info"),
    warn: method("warning"),
    error: method("error"),
  };
}

/** `warning: collect: Capture is off: …`, with an ISO time in front when `stamped`. */
function formatText(record: LogRecord, stamped: boolean): string {
  const text = record.parts.map((part, i) => i % 2 === 0 ? part : renderValue(part)).join("");
  const time = stamped ? new Date(record.time).toISOString() + " " : "";
  return `${time}${record.level}: ${record.name ? record.name + ": " : ""}${text}\n`;
}

/** A value as text, control characters escaped: file and process names come from outside. */
function renderValue(value: unknown): string {
  return printable(
    typeof value === "string" ? value : Deno.inspect(value, { colors: false, depth: 4 }),
  );
}

/**
 * As logtape's JSON lines were: `{"@timestamp", "level" (INFO, WARN…), "message" (its values
 * as JSON), "logger" ("pad.collect"), "properties"}`, with DEL and C1 controls escaped too.
 */
function formatJson(record: LogRecord): string {
  const message = record.parts
    .map((part, i) => i % 2 === 0 ? part : String(JSON.stringify(part, jsonValue)))
    .join("");
  const line = JSON.stringify({
    "@timestamp": new Date(record.time).toISOString(),
    level: record.level === "warning" ? "WARN" : record.level.toUpperCase(),
    message,
    logger: record.name ? `pad.${record.name}` : "pad",
    properties: record.properties,
  }, (key, value) => value instanceof Error ? errorJson(value) : jsonValue(key, value));
  return line.replace(/[\x7f-\x9f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) + "\n";
}

/** Big integers as strings (JSON has none). */
function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** An error's name, message, stack, cause and own fields (JSON.stringify would give `{}`). */
function errorJson(error: Error): object {
  const { name, message, stack, cause } = error;
  return Object.assign({ name, message, stack, cause }, error);
}
