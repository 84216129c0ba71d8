/**
 * `pad config`'s definition: its help; src/commands/config.ts, loaded when it runs, prints the
 * settings in effect.
 *
 * @module
 */
import { type AnyCommand, Command } from "./command.ts";
import { type CommandContext, examples } from "./shared.ts";

/** `pad config`, for the command tree under `program`. */
export function configCommand(program: AnyCommand, context: CommandContext) {
  return new Command("config")
    .description("print the settings in effect and where each came from (flag, file, default)")
    .addHelpText(
      "after",
      examples([
        ["pad config", "what every command would run with"],
        ["pad --config ./pad.toml config | grep collect", "check a file before installing it"],
      ]),
    )
    .action(async () => {
      const { runConfig } = await import("../commands/config.ts");
      runConfig(program, context);
    });
}
