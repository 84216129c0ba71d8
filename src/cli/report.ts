/**
 * `pad report`'s definition: its flags and help; src/commands/report.ts, loaded when it runs,
 * writes the HTML report.
 *
 * @module
 */
import { Command } from "./command.ts";
import { parsePath, parseTime } from "../parse.ts";
import { type CommandContext, examples, flag } from "./shared.ts";

/** `pad report`: its flags, help and action. */
export function reportCommand(context: CommandContext) {
  return new Command("report")
    .description("write one self-contained HTML report: incidents, scores, ports, traffic, model")
    .option(
      "-o, --output <file>",
      "HTML file to write",
      flag(parsePath, "--output"),
      "pad-report.html",
    )
    .option(
      "--since <time>",
      "from this time: ISO 8601 or an age like 24h, 7d",
      flag(parseTime, "--since"),
    )
    .option("--until <time>", "before this time: ISO 8601 or an age", flag(parseTime, "--until"))
    .addHelpText(
      "after",
      examples([
        ["pad report", "the last day, into pad-report.html"],
        ["pad report --since 7d -o week.html", "the last week"],
      ]),
    )
    .action(async (opts) => {
      const { runReport } = await import("../commands/report.ts");
      runReport({
        db: context.db(),
        output: opts.output,
        since: opts.since ?? Date.now() - 86_400_000,
        until: opts.until,
      }, context.summary());
    });
}
