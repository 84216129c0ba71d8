/**
 * What every subcommand's definition shares: how a flag's text becomes a value (a usage error
 * either way), the context main.ts gives each command (the database, where output goes, how to
 * set the exit code), and the flags more than one command takes, declared once. Loaded at
 * start-up, like the definitions: it imports nothing heavier than the parser.
 *
 * @module
 */
import type { Output } from "../output.ts";
import { parseCount, parsePath } from "../parse.ts";
import { Option } from "./command.ts";

/** What main.ts gives each command's action. */
export interface CommandContext {
  /** The database: `--db`, else `$PAD_DB`, else the XDG default. */
  db(): string;
  /** The database where one can be named (only to refuse it as an output), else undefined. */
  dbIfKnown(): string | undefined;
  /** Standard output, for data a script reads. */
  stdout: Output;
  /** Standard output for summaries meant for people: nowhere with `--quiet`. */
  summary(): Output;
  /** Whether `--quiet` was given. */
  quiet(): boolean;
  /** Sets the exit code (when not 0) that main returns once the action is done. */
  setStatus(code: number): void;
  /** The configuration file read, and where each configured key is (`pad.toml:4`). */
  configuration(): Configuration;
}

/** The configuration file in effect (see src/config.ts). */
export interface Configuration {
  /** Null where no file was found. */
  path: string | null;
  /** `collect.probe` → `/etc/pad/pad.toml:4`. */
  sources: ReadonlyMap<string, string>;
}

/** One of pad's parsers as a flag's parser: its errors name the flag (`what`). */
export function flag<T>(parse: (text: string, what: string) => T, what: string) {
  return (text: string): T => parse(text, what);
}

/** A repeatable flag's parser: each use adds one value. */
export function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Help text listing examples, for `.addHelpText("after", …)`. */
export function examples(lines: readonly [command: string, what: string][]): string {
  return "\nExamples:\n" + lines.map(([command, what]) => `  $ ${command}\n      ${what}`)
    .join("\n");
}

/** `--payload-bytes N`: collect and import keep this many payload bytes per packet row. */
export function payloadBytesOption() {
  return new Option(
    "--payload-bytes <n>",
    "payload bytes kept per stored packet (payloads can hold secrets)",
  ).argParser(flag(parseCount, "--payload-bytes")).default(0);
}

/**
 * `--packets N`: collect and import store at most N packet rows per round, DNS first. None by
 * default: flows and counts record all traffic, and a DNS flow its query and answer names.
 */
export function packetsOption() {
  return new Option(
    "--packets <n>",
    "packet rows stored per round, DNS first (default 0: flows and counts record all traffic, " +
      "DNS flows their names)",
  ).argParser(flag(parseCount, "--packets"));
}

/** `--max-packets N`: `--packets N` by its name before flows, kept for existing schedules. */
export function maxPacketsOption() {
  return new Option("--max-packets <n>").argParser(flag(parseCount, "--max-packets")).hideHelp();
}

/** The packet rows that `--packets` and `--max-packets` ask for. */
export function packetRows(opts: { packets?: number; maxPackets?: number }): {
  maxPackets: number;
} {
  return { maxPackets: opts.packets ?? opts.maxPackets ?? 0 };
}

/** `--prometheus FILE`: collect and detect refresh the fleet's metrics file when done. */
export function prometheusOption() {
  return new Option(
    "--prometheus <file>",
    "then rewrite this node_exporter textfile with pad's metrics",
  ).argParser(flag(parsePath, "--prometheus"));
}
