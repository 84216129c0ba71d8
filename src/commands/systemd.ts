/**
 * `pad systemd`: prints pad's service and timer units (collect every minute, detect hourly,
 * prune daily), writes them into a directory, or installs and enables them — the same jobs as
 * `pad cron`, with logs in the journal. Its flags are defined in src/cli/systemd.ts, which loads
 * this module when it runs.
 *
 * @module
 */
import { join, resolve } from "../path.ts";
import { checkWritableDirectory, exists, writeFileAtomic } from "../atomic_file.ts";
import { errorMessage, PadError } from "../errors.ts";
import { alertmanagerUrl } from "../fleet/notify.ts";
import { checkPrometheusFile } from "../fleet/prometheus.ts";
import { systemdUnits, type UnitFile } from "../fleet/systemd_units.ts";
import type { Output } from "../output.ts";
import { databaseFiles } from "../store/database.ts";

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
