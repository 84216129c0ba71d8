/**
 * `pad systemd`: prints pad's service and timer units (collect every minute, detect hourly,
 * prune daily), writes them into a directory, or installs and enables them — the same jobs as
 * `pad cron`, with logs in the journal.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { Command } from "@commander-js/extra-typings";
import { checkWritableDirectory, exists, writeFileAtomic } from "../atomic_file.ts";
import { type CommandContext, examples, flag, repeatable } from "../cli.ts";
import { errorMessage, PadError, UsageError } from "../errors.ts";
import { alertmanagerUrl } from "../fleet/notify.ts";
import { checkPrometheusFile } from "../fleet/prometheus.ts";
import { systemdUnits, type UnitFile } from "../fleet/systemd_units.ts";
import type { Output } from "../output.ts";
import { parsePath } from "../parse.ts";
import { databaseFiles } from "../store/database.ts";

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

/** Options of `pad systemd`. */
export interface SystemdOptions {
  db: string;
  action: "print" | "output" | "install" | "uninstall";
  output?: string;
  prometheus?: string;
  alertmanager?: string[];
}

/** Where units are installed: system units as root, else the user's. */
export function unitDirectory(): { dir: string; user: boolean } {
  if (Deno.uid() === 0) return { dir: "/etc/systemd/system", user: false };
  const config = Deno.env.get("XDG_CONFIG_HOME") ?? join(Deno.env.get("HOME") ?? ".", ".config");
  return { dir: join(config, "systemd", "user"), user: true };
}

const TIMERS = ["pad-collect.timer", "pad-detect.timer", "pad-prune.timer"];

export async function runSystemd(options: SystemdOptions, out: Output): Promise<void> {
  const db = resolve(options.db);
  if (options.prometheus !== undefined) {
    checkPrometheusFile(db, options.prometheus);
    if (options.action !== "print") {
      checkWritableDirectory(resolve(options.prometheus, ".."), "--prometheus");
    }
  }
  const units = systemdUnits({
    db,
    prometheus: options.prometheus,
    alertmanager: options.alertmanager?.map(alertmanagerUrl),
  });
  switch (options.action) {
    case "print":
      out.write(units.map((u) => `# ${u.name}\n${u.text}`).join("\n"));
      return;
    case "output": {
      writeUnits(options.output!, units, db);
      out.write(`Wrote ${units.map((u) => u.name).join(", ")} to ${options.output}\n`);
      return;
    }
    case "install": {
      const { dir, user } = unitDirectory();
      Deno.mkdirSync(dir, { recursive: true });
      writeUnits(dir, units, db);
      await systemctl(user, ["daemon-reload"], dir);
      await systemctl(user, ["enable", "--now", ...TIMERS], dir);
      out.write(
        `Installed and started ${TIMERS.join(", ")} (${dir}); their output: journalctl ${
          user ? "--user " : ""
        }-u pad-collect -u pad-detect -u pad-prune\n`,
      );
      return;
    }
    case "uninstall": {
      const { dir, user } = unitDirectory();
      const present = units.filter((u) => exists(join(dir, u.name)));
      if (present.length === 0) {
        out.write(`No pad units in ${dir}: nothing to remove\n`);
        return;
      }
      await systemctl(user, ["disable", "--now", ...TIMERS], dir);
      for (const u of present) Deno.removeSync(join(dir, u.name));
      await systemctl(user, ["daemon-reload"], dir);
      out.write(
        `Stopped the timers and removed ${present.map((u) => u.name).join(", ")} from ${dir}\n`,
      );
      return;
    }
  }
}

function writeUnits(dir: string, units: UnitFile[], db: string): void {
  checkWritableDirectory(dir, "--output");
  for (const unit of units) {
    writeFileAtomic(join(dir, unit.name), unit.text, 0o644, {
      flag: "--output",
      protect: databaseFiles(db),
    });
  }
}

/** Runs systemctl; a failure is one error saying what was done and what to do. */
async function systemctl(user: boolean, args: string[], dir: string): Promise<void> {
  const words = [...(user ? ["--user"] : []), ...args];
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("systemctl", { args: words, stdout: "piped", stderr: "piped" })
      .output();
  } catch (error) {
    throw new PadError(
      `Cannot run systemctl (${errorMessage(error)}): the units are in ${dir}; ` +
        "this machine may not run systemd: use pad cron --install instead",
    );
  }
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim().replaceAll("\n", "; ");
    throw new PadError(
      `systemctl ${words.join(" ")} failed (exit ${output.code}): ${stderr}; the units are in ` +
        `${dir}: fix what systemctl says, or use pad cron --install instead`,
    );
  }
}
