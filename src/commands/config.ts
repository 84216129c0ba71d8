/**
 * `pad config`: the settings in effect for every command, and where each came from — a flag,
 * the environment, the configuration file (with its line) or the default.
 *
 * @module
 */
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { type CommandContext, examples } from "../cli.ts";
import { effectiveSettings } from "../config.ts";
import { printable } from "../text.ts";

/** `pad config`, for the command tree under `program`. */
export function configCommand(program: CommandUnknownOpts, context: CommandContext) {
  return new Command("config")
    .description("print the settings in effect and where each came from (flag, file, default)")
    .addHelpText(
      "after",
      examples([
        ["pad config", "what every command would run with"],
        ["pad --config ./pad.toml config | grep collect", "check a file before installing it"],
      ]),
    )
    .action(() => {
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
    });
}
