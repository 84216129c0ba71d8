/**
 * `pad import`'s definition: its flags and help; src/commands/import.ts, loaded when it runs,
 * reads the capture file into rounds.
 *
 * @module
 */
import { Command } from "./command.ts";
import { boundedDuration } from "../parse.ts";
import {
  type CommandContext,
  examples,
  flag,
  maxPacketsOption,
  packetRows,
  packetsOption,
  payloadBytesOption,
  repeatable,
} from "./shared.ts";

/** `pad import FILE`: its flags, help and action. */
export function importCommand(context: CommandContext) {
  return new Command("import")
    .description("store the packets of a pcap or pcapng file as rounds")
    .argument("<file>", "capture file")
    .option(
      "--round-length <duration>",
      "slice packets into rounds this long, by their timestamps",
      flag(boundedDuration(1_000, 86_400_000), "--round-length"),
      60_000,
    )
    .option(
      "--local <net>",
      "the monitored host's address or network (repeatable; default: private ranges)",
      repeatable,
    )
    .option("--filter <expr>", "BPF filter applied while reading")
    .option("--again", "import a file pad imported before (its rounds are stored twice)")
    .addOption(payloadBytesOption())
    .addOption(packetsOption())
    .addOption(maxPacketsOption())
    .addHelpText(
      "after",
      examples([
        ["pad import capture.pcapng --local 192.168.1.20", "the capture of one host"],
        ["pad import lab.pcap --round-length 10s --local 10.0.0.0/8", "rounds of 10 s"],
      ]),
    )
    .action(async (file, opts) => {
      const { runImport } = await import("../commands/import.ts");
      await runImport({
        db: context.db(),
        file,
        roundLengthMs: opts.roundLength,
        local: opts.local,
        filter: opts.filter,
        payloadBytes: opts.payloadBytes,
        ...packetRows(opts),
        again: opts.again ?? false,
        quiet: context.quiet(),
      }, context.summary());
    });
}
