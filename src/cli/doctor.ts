/**
 * `pad doctor`'s definition: its flags and help; src/commands/doctor.ts, loaded when it runs,
 * checks what collect needs.
 *
 * @module
 */
import { Command } from "./command.ts";
import { ExitCode } from "../errors.ts";
import type { CommandContext } from "./shared.ts";

/** `pad doctor`: its flags, help and action. */
export function doctorCommand(context: CommandContext) {
  return new Command("doctor")
    .description("check what collect needs (libpcap, capture permission, paths) and what to do")
    .option("--interface <name>", "the interface to check capture on")
    .action(async (opts) => {
      const { runDoctor } = await import("../commands/doctor.ts");
      const findings = runDoctor({ db: context.db(), interface: opts.interface }, context.stdout);
      if (findings.some((f) => f.status === "fail")) context.setStatus(ExitCode.Failure);
    });
}
