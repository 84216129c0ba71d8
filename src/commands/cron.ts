import type { Output } from "../output.ts";

/** Options of `pad cron`. */
export interface CronOptions {
  db: string;
  action: "print" | "install" | "uninstall";
  /** Directory of the log files the cron lines append to. */
  logDir?: string;
}

/** Prints, installs or uninstalls pad's crontab lines. (Stub: being built.) */
export function runCron(_options: CronOptions, _out: Output): Promise<void> | void {
  throw new Error("pad cron is not built yet");
}
