/**
 * pad's configuration file, in TOML: every flag has a key, named as the flag without its
 * dashes — top-level keys for the global flags (`db = "/var/lib/pad/pad.db"`), a table per
 * subcommand for its own (`[collect]`, `[model.merge]`). Flags given on the command line win.
 *
 * The file is the first of `--config FILE`, `$PAD_CONFIG`, `$XDG_CONFIG_HOME/pad/pad.toml`
 * (`~/.config/pad/pad.toml`) and `/etc/pad/pad.toml` that exists (the first two must). The whole
 * file is checked whatever command runs: an unknown key or a bad value is a usage error naming
 * the file, the line and the key.
 *
 * @module
 */
import type { AnyCommand, Option } from "./cli/command.ts";
import { join } from "./path.ts";
import { errorMessage, PadError, UsageError } from "./errors.ts";

/** A configuration file, parsed. */
export interface ConfigFile {
  path: string;
  text: string;
  values: Record<string, unknown>;
}

/** The file to read: `explicit` (from --config), else the first that exists; null for none. */
export function findConfig(
  explicit: string | undefined,
  env: Pick<typeof Deno.env, "get"> = Deno.env,
): string | null {
  const named = explicit ?? env.get("PAD_CONFIG");
  if (named !== undefined && named !== "") {
    if (!isFile(named)) {
      const what = explicit !== undefined ? "--config" : "$PAD_CONFIG";
      throw new UsageError(`Invalid ${what} "${named}": no such file; create it or fix the path`);
    }
    return named;
  }
  const configHome = env.get("XDG_CONFIG_HOME") || join(env.get("HOME") ?? "/", ".config");
  return [join(configHome, "pad", "pad.toml"), "/etc/pad/pad.toml"].find(isFile) ?? null;
}

/**
 * Reads and parses the file; a syntax error names its line and column. The TOML parser is
 * loaded only here: as an npm package it brings Deno's npm resolution, 4 MiB and 10 ms of CPU
 * that every command, collect every minute, would pay with no configuration file.
 */
export async function readConfig(path: string): Promise<ConfigFile> {
  const { parse, TomlError } = await import("smol-toml");
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new PadError(`Cannot read configuration ${path}: ${errorMessage(error)}`);
  }
  try {
    return { path, text, values: parse(text) as Record<string, unknown> };
  } catch (error) {
    if (error instanceof TomlError) {
      const why = error.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
      throw new UsageError(`${path}:${error.line}:${error.column}: invalid TOML: ${why}`);
    }
    throw error;
  }
}

/** Where a value came from, for `pad config`. */
export type ValueSource = "default" | "flag" | "env" | string;

/**
 * Checks every key of `config` against the command tree under `program` and sets each option
 * the command line left at its default; returns where each configured value came from
 * (`"collect.probe"` → `pad.toml:4`).
 */
export function applyConfig(program: AnyCommand, config: ConfigFile): Map<string, string> {
  const sources = new Map<string, string>();
  const visit = (command: AnyCommand, table: Record<string, unknown>, path: string[]) => {
    for (const [key, value] of Object.entries(table)) {
      const sub = command.subcommand(key);
      if (sub !== undefined && isTable(value)) {
        visit(sub, value, [...path, key]);
        continue;
      }
      const name = [...path, key].join(".");
      const option = command.options.find((o) => o.long === `--${key}`);
      const where = `${config.path}:${lineOf(config.text, path, key)}`;
      if (option === undefined || CLI_ONLY.has(key)) {
        const known = path.length === 0
          ? "keys are pad's global flags without their dashes, and tables are its commands " +
            "(pad --help)"
          : `keys are the flags of pad ${path.join(" ")} --help without their dashes`;
        throw new UsageError(
          `${where}: unknown ${path.length === 0 && isTable(value) ? "table" : "key"} ` +
            `"${name}": ${known}`,
        );
      }
      const parsed = optionValue(option, value, `${where}: ${name}`);
      const attribute = option.attributeName();
      const source = command.getOptionValueSource(attribute);
      if (source === undefined || source === "default") {
        command.setOptionValueWithSource(attribute, parsed, "config");
      }
      sources.set(name, where);
    }
  };
  visit(program, config.values, []);
  return sources;
}

/** Flags that make no sense in a file. */
const CLI_ONLY = new Set(["config", "help", "version"]);

/** A configured value as the option's parser takes it from the command line. */
function optionValue(option: Option, value: unknown, what: string): unknown {
  if (!option.takesValue) {
    if (typeof value !== "boolean") throw new UsageError(`${what}: use true or false`);
    return option.negate ? !value : value;
  }
  // `--syslog [socket]`: true is the flag alone, a string its value.
  if (option.valueOptional && typeof value === "boolean") return value || undefined;
  if (isTable(value) || typeof value === "boolean") {
    throw new UsageError(`${what}: use a string${option.valueOptional ? " or true" : ""}`);
  }
  const values = Array.isArray(value) ? value : [value];
  let result: unknown = undefined;
  for (const v of values) {
    if (typeof v !== "string" && typeof v !== "number") {
      throw new UsageError(`${what}: use a string or a number, not ${JSON.stringify(v)}`);
    }
    const text = String(v);
    if (option.argChoices && !option.argChoices.includes(text)) {
      throw new UsageError(`${what}: "${text}" is not one of ${option.argChoices.join(", ")}`);
    }
    try {
      result = option.parseArg ? option.parseArg(text, result as never) : text;
    } catch (error) {
      throw new UsageError(`${what}: ${errorMessage(error)}`);
    }
  }
  if (Array.isArray(value) && values.length > 1 && result !== undefined && !Array.isArray(result)) {
    throw new UsageError(`${what}: takes one value, not a list`);
  }
  return result;
}

/** The line a key is written on (1-based; 1 if it cannot be told). */
function lineOf(text: string, path: string[], key: string): number {
  const lines = text.split("\n");
  const header = path.length === 0 ? null : path.join(".");
  let inTable = header === null;
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const keyLine = new RegExp(`^\\s*("${escaped}"|'${escaped}'|${escaped})\\s*=`);
  for (let i = 0; i < lines.length; i++) {
    const table = /^\s*\[\s*([^\]]+?)\s*\]/.exec(lines[i]!);
    if (table) {
      inTable = table[1] === header;
      continue;
    }
    if (inTable && keyLine.test(lines[i]!)) return i + 1;
  }
  return 1;
}

/**
 * Every option of every command under `program` with its effective value and where it came
 * from: a flag, the environment, the configuration file (`FILE:LINE`) or the default.
 */
export function effectiveSettings(
  program: AnyCommand,
  configured: ReadonlyMap<string, string>,
): { key: string; value: string; from: string }[] {
  const rows: { key: string; value: string; from: string }[] = [];
  const walk = (command: AnyCommand, path: string[]) => {
    for (const option of command.options) {
      if (!option.long || CLI_ONLY.has(option.long.slice(2))) continue;
      const key = [...path, option.long.slice(2)].join(".");
      const value = command.getOptionValue(option.attributeName());
      const source = command.getOptionValueSource(option.attributeName());
      // An old name kept for existing schedules (--max-packets) shows only where it is used.
      if (option.hidden && (source === undefined || source === "default")) continue;
      rows.push({
        key,
        value: show(option, value),
        from: source === "config"
          ? configured.get(key) ?? "configuration"
          : source === "cli"
          ? "flag"
          : source === "env"
          ? "environment"
          : source ?? "default",
      });
    }
    for (const sub of command.commands) {
      if (sub.name() !== "help") walk(sub, [...path, sub.name()]);
    }
  };
  walk(program, []);
  return rows;
}

function show(option: Option, value: unknown): string {
  // `no-capture` is shown as the flag reads: given (true) or not, though it sets `capture`.
  if (option.negate) return value === false ? "true" : "-";
  if (value === undefined) return option.defaultValueDescription ?? "-";
  if (Array.isArray(value) && value.length === 0) return "-";
  return option.show(value);
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
