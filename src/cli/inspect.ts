/**
 * `pad inspect`'s definition: its flags and help; src/commands/inspect.ts, loaded when it runs,
 * lists the tables or dumps one.
 *
 * @module
 */
import { Command, Option } from "./command.ts";
import { parseCount, parseTime } from "../parse.ts";
import { ROW_FORMATS } from "../table_format.ts";
import { type CommandContext, examples, flag } from "./shared.ts";

/** `pad inspect [TABLE]`: its flags, help and action. */
export function inspectCommand(context: CommandContext) {
  return new Command("inspect")
    .description("list the tables, or dump one as a table, JSON lines, CSV or TSV")
    .argument("[table]", "rounds, ports, rounds_ports, packets, …")
    .addOption(
      new Option("--format <format>", "output format (default: table on a terminal, else tsv)")
        .choices(ROW_FORMATS),
    )
    .option("--limit <n>", "rows at most, newest first; 0 for all", flag(parseCount, "--limit"), 20)
    .option(
      "--since <time>",
      "from this time: ISO 8601 or an age like 2h, 7d",
      flag(parseTime, "--since"),
    )
    .option("--until <time>", "before this time: ISO 8601 or an age", flag(parseTime, "--until"))
    .option(
      "--round <id>",
      "rows of this round only",
      flag((t, w) => parseCount(t, w, 1), "--round"),
    )
    .option(
      "--where <column=value>",
      "only rows where COLUMN equals VALUE (repeatable)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      "--columns <list>",
      "these columns, in this order (comma-separated)",
      (text: string) => text.split(",").map((c) => c.trim()).filter((c) => c !== ""),
    )
    .option("--all-columns", "every column in the table format (default: the main ones that fit)")
    .addHelpText(
      "after",
      examples([
        ["pad inspect", "the tables, their sizes and the rounds' time span"],
        ["pad inspect rounds --columns id,start_time,packets_seen", "chosen columns"],
        ["pad inspect rounds_ports --round 1412", "the ports of one round"],
        ["pad inspect anomalies --since 7d --format json | jq .", "a week of anomalies"],
      ]),
    )
    .action(async (table, opts) => {
      const { runInspect } = await import("../commands/inspect.ts");
      runInspect({ db: context.db(), table, ...opts }, context.stdout);
    });
}
