/**
 * `pad cron`'s definition: its flags and help; src/commands/cron.ts, loaded when it runs,
 * prints, installs or removes pad's crontab lines.
 *
 * @module
 */
import { Command } from "./command.ts";
import { UsageError } from "../errors.ts";
import { parsePath } from "../parse.ts";
import { type CommandContext, flag, repeatable } from "./shared.ts";

/** `pad cron`: its flags, help and action. */
export function cronCommand(context: CommandContext) {
  return new Command("cron")
    .description("print pad's crontab lines (collect, detect, prune), or install/uninstall them")
    .option("--install", "add the lines to your crontab (idempotent; other lines untouched)")
    .option("--uninstall", "remove exactly pad's lines from your crontab")
    .option(
      "--log-dir <dir>",
      "where the jobs append their logs (default: next to the database)",
      flag(parsePath, "--log-dir"),
    )
    .option(
      "--prometheus <file>",
      "make the collect and detect lines refresh this node_exporter textfile",
      flag(parsePath, "--prometheus"),
    )
    .option(
      "--alertmanager <url>",
      "make the detect line tell this Alertmanager about incidents (repeatable)",
      repeatable,
    )
    .action(async (opts) => {
      if (opts.install && opts.uninstall) {
        throw new UsageError("--install and --uninstall exclude each other: choose one");
      }
      const action = opts.install ? "install" : opts.uninstall ? "uninstall" : "print";
      const { runCron } = await import("../commands/cron.ts");
      await runCron(
        {
          db: context.db(),
          action,
          logDir: opts.logDir,
          prometheus: opts.prometheus,
          alertmanager: opts.alertmanager,
        },
        context.stdout,
      );
    });
}
