/**
 * `pad status`'s definition: its flags and help; src/commands/status.ts, loaded when it runs,
 * reads the database and prints the status.
 *
 * @module
 */
import { Command, Option } from "./command.ts";
import { ExitCode } from "../errors.ts";
import { type CommandContext, examples } from "./shared.ts";

/** `pad status`: its flags, help and action. */
export function statusCommand(context: CommandContext) {
  return new Command("status")
    .description("is pad working, and is anything wrong? collect, detect, warm-up, incidents")
    .addOption(new Option("--format <format>", "text or json").choices(["text", "json"] as const))
    .addHelpText(
      "after",
      examples([
        ["pad status", "exit 1 when collect has not run for 5 minutes, with the reason"],
        ["pad status --format json | jq .open_incidents", "for scripts"],
      ]),
    )
    .action(async (opts) => {
      const { runStatus } = await import("../commands/status.ts");
      const status = runStatus({ db: context.db(), now: Date.now() }, context.stdout, opts.format);
      if (status.problems.length > 0) context.setStatus(ExitCode.Failure);
    });
}
