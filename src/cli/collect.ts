/**
 * `pad collect`'s definition: its flags and help; src/commands/collect.ts, loaded when it runs,
 * sweeps the ports, captures and stores the round.
 *
 * @module
 */
import { Command, Option } from "./command.ts";
import { UsageError } from "../errors.ts";
import { boundedDuration, parseCount } from "../parse.ts";
import { PROBE_NAMES } from "../round.ts";
import {
  type CommandContext,
  examples,
  flag,
  maxPacketsOption,
  packetsOption,
  payloadBytesOption,
  prometheusOption,
} from "./shared.ts";

const SECOND = 1_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** `pad collect`: its flags, help and action. */
export function collectCommand(context: CommandContext) {
  return new Command("collect")
    .description("run one round: sweep the ports again and again while capturing packets")
    .addOption(
      // No parser default: finding it opens /proc/net/tcp, which only collect needs to do.
      new Option(
        "--probe <probe>",
        "how ports are probed (default: procfs where /proc/net is readable, else listen)",
      ).choices(PROBE_NAMES),
    )
    .option(
      "--interval <duration>",
      "pause between sweeps (default: 25s with listen, 5s with procfs)",
      flag(boundedDuration(100, HOUR), "--interval"),
    )
    .option(
      "--duration <duration>",
      "round length (default: until 5 s before the next minute)",
      flag(boundedDuration(SECOND, DAY), "--duration"),
    )
    .option("--interface <name>", "capture interface (default: first up, non-loopback)")
    .option("--filter <expr>", "BPF capture filter, e.g. 'not port 22'")
    .option("--no-capture", "sweep ports only")
    .option(
      "--capture-buffer <MiB>",
      "the kernel's capture ring: memory against packets lost in a burst (default: 12)",
      flag(parseBufferMiB, "--capture-buffer"),
    )
    .addOption(payloadBytesOption())
    .addOption(packetsOption())
    .addOption(maxPacketsOption())
    .addOption(prometheusOption())
    .addHelpText(
      "after",
      examples([
        ["sudo pad collect --probe procfs", "one round, as cron runs it every minute"],
        ["pad collect --duration 20s --interface lo --filter 'not port 22'", "a short round"],
        ["pad collect --no-capture", "sweep ports only"],
        [
          "pad collect --capture-buffer 64",
          "64 MiB of ring for a busy host: fewer packets lost in a flood",
        ],
      ]),
    )
    .action(async (opts) => {
      const { collectAction } = await import("../commands/collect.ts");
      await collectAction(opts, context);
    });
}

/** `--capture-buffer`: whole MiB, 1 to 1,024 (libpcap's ring; more is memory for nothing). */
function parseBufferMiB(text: string, what: string): number {
  const mib = parseCount(text, what, 1);
  if (mib > 1024) throw new UsageError(`Invalid ${what} "${text}": use 1 to 1024 (MiB)`);
  return mib;
}

/** `pad collect`'s flags as the parser gives them to the action. */
export type CollectFlags = ReturnType<ReturnType<typeof collectCommand>["opts"]>;
