/**
 * `pad config`: the settings in effect for every command, and where each came from — a flag,
 * the environment, the configuration file (with its line) or the default. The command is
 * defined in src/cli/config.ts, which loads this module when it runs.
 *
 * @module
 */
import type { AnyCommand } from "../cli/command.ts";
import type { CommandContext } from "../cli/shared.ts";
import { effectiveSettings } from "../config.ts";
import { printable } from "../text.ts";

/** Prints the settings in effect for the command tree under `program`, and where each came from. */
export function runConfig(program: AnyCommand, context: CommandContext): void {
  const { path, sources } = context.configuration();
  const rows = effectiveSettings(program, sources);
  const width = (k: "key" | "value") => Math.max(k.length, ...rows.map((r) => r[k].length));
  const line = (key: string, value: string, from: string) =>
    `${key.padEnd(width("key"))}  ${value.padEnd(width("value"))}  ${from}`.trimEnd();
  context.stdout.write(
    [
      `# configuration file: ${
        path ?? "none ($PAD_CONFIG, $XDG_CONFIG_HOME/pad/pad.toml, /etc/pad/pad.toml)"
      }`,
      line("key", "value", "from"),
      ...rows.map((r) => line(r.key, printable(r.value), r.from)),
    ].join("\n") + "\n",
  );
}
