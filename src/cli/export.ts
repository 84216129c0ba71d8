/**
 * `pad export`'s definition: its flags and help; src/commands/export.ts, loaded when it runs,
 * writes the Prometheus metrics file.
 *
 * @module
 */
import { Command } from "./command.ts";
import { parsePath } from "../parse.ts";
import { type CommandContext, flag } from "./shared.ts";

/** `pad export`: its flags, help and action. */
export function exportCommand(context: CommandContext) {
  return new Command("export")
    .description("write pad's metrics for Prometheus (node_exporter textfile collector)")
    .requiredOption(
      "--prometheus <file>",
      "the .prom file to rewrite atomically",
      flag(parsePath, "--prometheus"),
    )
    .action(async (opts) => {
      const { runExport } = await import("../commands/export.ts");
      runExport({ db: context.db(), prometheus: opts.prometheus }, context.summary());
    });
}
