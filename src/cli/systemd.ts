/**
 * `pad systemd`'s definition: its flags and help; src/commands/systemd.ts, loaded when it runs,
 * prints, writes, installs or removes pad's systemd units.
 *
 * @module
 */
import { Command } from "./command.ts";
import { UsageError } from "../errors.ts";
import { parsePath } from "../parse.ts";
import { type CommandContext, examples, flag, repeatable } from "./shared.ts";

/** `pad systemd`: its flags, help and action. */
export function systemdCommand(context: CommandContext) {
  return new Command("systemd")
    .description("print pad's systemd service and timer units, or write or install them")
    .option(
      "--output <dir>",
      "write the unit files into this directory",
      flag(parsePath, "--output"),
    )
    .option(
      "--install",
      "install the units (system units as root, else user units) and start the timers",
    )
    .option("--uninstall", "stop the timers and remove the units")
    .option(
      "--prometheus <file>",
      "make collect and detect refresh this node_exporter textfile",
      flag(parsePath, "--prometheus"),
    )
    .option(
      "--alertmanager <url>",
      "make detect tell this Alertmanager about incidents (repeatable)",
      repeatable,
    )
    .addHelpText(
      "after",
      examples([
        ["sudo pad --db /var/lib/pad/pad.db systemd --install", "run pad from systemd timers"],
        ["journalctl -u pad-collect -u pad-detect --since today", "what the jobs said"],
        ["pad systemd --output ./units", "the files, to review or ship with a package"],
      ]),
    )
    .action(async (opts) => {
      const actions = [opts.output !== undefined, opts.install, opts.uninstall].filter(Boolean);
      if (actions.length > 1) {
        throw new UsageError("--output, --install and --uninstall exclude each other: choose one");
      }
      const { runSystemd } = await import("../commands/systemd.ts");
      await runSystemd({
        db: context.db(),
        action: opts.install
          ? "install"
          : opts.uninstall
          ? "uninstall"
          : opts.output
          ? "output"
          : "print",
        output: opts.output,
        prometheus: opts.prometheus,
        alertmanager: opts.alertmanager,
      }, context.stdout);
    });
}
