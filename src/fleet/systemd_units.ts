/**
 * systemd service and timer units that run pad's jobs — the same jobs, paths and flags as the
 * cron lines (`scheduledJobs`): collect every minute, detect hourly, prune daily. Their output
 * goes to the journal (`journalctl -u pad-collect`), which rotates it; pad leaves out its own
 * time stamps there.
 *
 * @module
 */
import { type CronSetup, padCommand, scheduledJobs } from "./cron_lines.ts";
import { UsageError } from "../errors.ts";

/** One unit file: its name (`pad-collect.timer`) and text. */
export interface UnitFile {
  name: string;
  text: string;
}

const ABOUT = {
  collect: "one round of port sweeps and packet capture",
  detect: "score the new rounds, open incidents, learn",
  prune: "remove old rounds and packet rows",
};

const EVERY = { collect: "every minute", detect: "hourly", prune: "daily" };

/** The service and timer of each job, in the order collect, detect, prune. */
export function systemdUnits(
  setup: CronSetup,
  command: readonly string[] = padCommand(),
): UnitFile[] {
  return scheduledJobs(setup, command).flatMap(({ role, calendar, words }) => {
    const exec = words.map((w) => systemdWord(w, role)).join(" ");
    const service = [
      "# Written by pad systemd; pad systemd --uninstall removes it.",
      "[Unit]",
      `Description=pad ${role}: ${ABOUT[role]}`,
      ...(role === "collect" ? ["After=network-online.target"] : []),
      "",
      "[Service]",
      "Type=oneshot",
      `ExecStart=${exec}`,
      // A collect round ends before the next minute; one that hangs must not block the next.
      `TimeoutStartSec=${role === "collect" ? "2min" : "1h"}`,
      ...(role === "collect" ? [] : ["Nice=10", "IOSchedulingClass=idle"]),
      "",
    ];
    const timer = [
      "# Written by pad systemd; pad systemd --uninstall removes it.",
      "[Unit]",
      `Description=run pad ${role} ${EVERY[role]}`,
      "",
      "[Timer]",
      `OnCalendar=${calendar}`,
      "AccuracySec=1s",
      // A missed detect or prune (the machine was off) runs at boot; a missed round cannot.
      `Persistent=${role === "collect" ? "false" : "true"}`,
      "",
      "[Install]",
      "WantedBy=timers.target",
      "",
    ];
    return [
      { name: `pad-${role}.service`, text: service.join("\n") },
      { name: `pad-${role}.timer`, text: timer.join("\n") },
    ];
  });
}

/**
 * A word of ExecStart= (systemd.service(5) "Command lines"): quoted where it holds what would
 * split or escape it, with `%` and `$` doubled so that systemd neither expands specifiers nor
 * variables.
 */
function systemdWord(word: string, role: string): string {
  if (/[\n\r]/.test(word)) {
    throw new UsageError(
      `Cannot write "${word}" in the ${role} unit: it contains a line break; use a path without one`,
    );
  }
  const escaped = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  return /^[A-Za-z0-9_@%+=:,./$-]+$/.test(escaped)
    ? escaped
    : `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}
