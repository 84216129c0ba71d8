/**
 * `pad init`'s definition: its flags and help; src/commands/init.ts, loaded when it runs,
 * creates, upgrades or recovers the database.
 *
 * @module
 */
import { Command } from "./command.ts";
import { parsePath } from "../parse.ts";
import { type CommandContext, examples, flag } from "./shared.ts";

/** `pad init`: its flags, help and action. */
export function initCommand(context: CommandContext) {
  return new Command("init")
    .description("create or upgrade the database; print its path and schema version")
    .option(
      "--recover <damaged>",
      "create the database from the rows a damaged one still holds",
      flag(parsePath, "--recover"),
    )
    .addHelpText(
      "after",
      examples([
        ["pad init", "create the database (collect and import also do, when it is missing)"],
        [
          "pad --db ~/pad.saved.db init --recover ~/.local/share/pad/pad.db",
          "save what a damaged database still holds",
        ],
      ]),
    )
    .action(async (opts) => {
      const { runInit } = await import("../commands/init.ts");
      runInit({ db: context.db(), recover: opts.recover }, context.stdout);
    });
}
