/**
 * `pad prune`'s definition: its flags and help; src/commands/prune.ts, loaded when it runs,
 * removes old rounds and packets.
 *
 * @module
 */
import { Command } from "./command.ts";
import { ExitCode } from "../errors.ts";
import { boundedDuration, parseMegabytes } from "../parse.ts";
import { type CommandContext, examples, flag } from "./shared.ts";

const MINUTE = 60_000;
const TEN_YEARS = 3650 * 86_400_000;

/** `pad prune`: its flags, help and action. */
export function pruneCommand(context: CommandContext) {
  return new Command("prune")
    .description("remove old rounds and packets; give the space back")
    .option(
      "--keep <duration>",
      "keep rounds younger than this",
      flag(boundedDuration(MINUTE, TEN_YEARS), "--keep"),
      7 * 86_400_000,
    )
    .option(
      "--keep-packets <duration>",
      "keep packet rows younger than this (rounds, their counts and flows stay)",
      flag(boundedDuration(MINUTE, TEN_YEARS), "--keep-packets"),
      86_400_000,
    )
    .option(
      "--max-size <MB>",
      "then remove the oldest rounds until the file fits",
      flag(parseMegabytes, "--max-size"),
    )
    .option("--dry-run", "report what would be removed; change nothing", false)
    .addHelpText(
      "after",
      examples([
        ["pad prune", "a week of rounds and a day of packet rows stay, as cron runs it daily"],
        ["pad prune --max-size 500 --dry-run", "what keeping the file under 500 MB would take"],
      ]),
    )
    .action(async (opts) => {
      const { runPrune } = await import("../commands/prune.ts");
      const result = runPrune({
        db: context.db(),
        keepMs: opts.keep,
        keepPacketsMs: opts.keepPackets,
        maxSizeBytes: opts.maxSize,
        dryRun: opts.dryRun,
      }, context.summary());
      if (!result.fits) context.setStatus(ExitCode.Failure);
    });
}
