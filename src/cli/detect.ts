/**
 * `pad detect`'s definition: its flags and help; src/commands/detect.ts, loaded when it runs,
 * scores the new rounds, opens and tells incidents and learns.
 *
 * @module
 */
import { Command, Option } from "./command.ts";
import { DEFAULT_QUIET_SPELL_MS, DEFAULT_WARMUP_ROUNDS } from "../detect/defaults.ts";
import { ExitCode } from "../errors.ts";
import { boundedDuration, parseCount } from "../parse.ts";
import { type CommandContext, examples, flag, prometheusOption, repeatable } from "./shared.ts";

/** `pad detect`: its flags, help and action. */
export function detectCommand(context: CommandContext) {
  return new Command("detect")
    .description(
      "score new rounds, group what is anomalous into incidents and tell them, learn from the rest",
    )
    .option(
      "--warmup <rounds>",
      "rounds of history learned from before anything is flagged",
      flag(parseCount, "--warmup"),
      DEFAULT_WARMUP_ROUNDS,
    )
    .option(
      "--seed <n>",
      "seed of a new model: same seed, same scores",
      flag(parseCount, "--seed"),
      1,
    )
    .option("--rescore", "score every complete round again with the current model")
    .option(
      "--max-epochs <n>",
      "most epochs per refit (early stopping usually ends sooner)",
      flag((t, w) => parseCount(t, w, 1), "--max-epochs"),
      20,
    )
    .addOption(
      new Option("--format <format>", "report format").choices(["text", "json"] as const).default(
        "text" as const,
      ),
    )
    .option("--exit-code", `exit ${ExitCode.Anomalies} when an incident opened`)
    .addOption(
      new Option(
        "--quiet-spell <duration>",
        "an incident closes after this long without a flagged round (1m to 7d)",
      ).argParser(flag(boundedDuration(60_000, 7 * 86_400_000), "--quiet-spell"))
        .default(DEFAULT_QUIET_SPELL_MS, "30m"),
    )
    .option(
      "--alertmanager <url>",
      "post incidents to this Alertmanager's v2 API (repeatable)",
      repeatable,
    )
    .option("--on-incident <command>", "run COMMAND (sh -c) with each incident event as JSON")
    .option("--syslog [socket]", "log each incident event to syslog (default socket /dev/log)")
    .option(
      "--ignore-port <protocol/port>",
      "rounds only about this port are accepted, told nowhere (repeatable)",
      repeatable,
    )
    .option(
      "--ignore-process <name>",
      "rounds only about this process's ports are accepted, told nowhere (repeatable)",
      repeatable,
    )
    .option(
      "--ignore-network <cidr>",
      "rounds only about peers in it are accepted, told nowhere (repeatable)",
      repeatable,
    )
    .addOption(prometheusOption())
    .addHelpText(
      "after",
      examples([
        ["pad detect", "score the rounds collected since the last run, as cron runs it hourly"],
        ["pad detect --alertmanager http://alertmanager:9093", "tell the fleet's Alertmanager"],
        ["pad detect --on-incident 'mail -s pad root'", "a hook gets each incident as JSON"],
        ["pad detect --format json | jq -c 'select(.type == \"incident\")'", "for log shippers"],
        ["pad detect --rescore", "score every round again with the current model"],
      ]),
    )
    .action(async (opts) => {
      const { detectAction } = await import("../commands/detect.ts");
      await detectAction(opts, context);
    });
}

/** `pad detect`'s flags as the parser gives them to the action. */
export type DetectFlags = ReturnType<ReturnType<typeof detectCommand>["opts"]>;
