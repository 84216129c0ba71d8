/**
 * What the bench scripts share to measure: their flags, progress lines on stderr, CPU seconds of
 * this process, and child processes timed by GNU time (wall, user + sys, peak RSS).
 *
 * @module
 */

import { padCommandLine } from "../../fixtures/pad_cli.ts";

/** `pad` as `deno task pad` runs it, without the task runner's shell, so GNU time measures pad. */
export const PAD: readonly string[] = padCommandLine();

/** `/usr/bin/python3`: Debian's, the one with torch (the `python3` in PATH may be another). */
export const PYTHON = "/usr/bin/python3";

/** True when the script was started with `--quick` (a short smoke run). */
export const QUICK = Deno.args.includes("--quick");

/**
 * The integer value of `--name N`, else `full` (or `quick` under `--quick`). A value that is not
 * a positive integer throws a RangeError naming the flag.
 */
export function intFlag(name: string, full: number, quick = full): number {
  const at = Deno.args.indexOf(name);
  if (at < 0) return QUICK ? quick : full;
  const value = Number(Deno.args[at + 1]);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer: got "${Deno.args[at + 1]}"`);
  }
  return value;
}

/** A progress line on stderr: `[script] message`. */
export function progress(message: string): void {
  const script = new URL(Deno.mainModule).pathname.split("/").pop()!.replace(/\.ts$/, "");
  console.error(`[${script}] ${message}`);
}

// USER_HZ, the unit of /proc/<pid>/stat times, is 100 on every Linux architecture.
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + sys, all threads) of process `pid`, from /proc (10 ms resolution). */
export function cpuSecondsOf(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after the command, which may hold spaces and parentheses; utime and stime are 14, 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** `bytes` as text. */
export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** An integer with thousands separators. */
export const int = (n: number): string => Math.round(n).toLocaleString("en");

/** A child process measured by GNU time. */
export interface Timed {
  wallS: number;
  /** User + sys seconds of the process and the children it waited for. */
  cpuS: number;
  /** Peak resident set of the largest process of the tree, MiB. */
  rssMiB: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** How to run a timed command. */
export interface TimedOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Throw when the command fails (default true). */
  check?: boolean;
  /** Discard stdout instead of keeping it (for tools that print a line a packet). */
  discardStdout?: boolean;
}

/** Runs `command` under `/usr/bin/time -f "%e %U %S %M"`; wall time is taken here (sub-ms). */
export async function timed(
  command: readonly string[],
  options: TimedOptions = {},
): Promise<Timed> {
  const timeFile = Deno.makeTempFileSync({ prefix: "pad_bench_time_" });
  try {
    const started = performance.now();
    const output = await new Deno.Command("/usr/bin/time", {
      args: ["-o", timeFile, "-f", "%e %U %S %M", ...command],
      stdin: "null",
      stdout: options.discardStdout ? "null" : "piped",
      stderr: "piped",
      env: options.env,
    }).output();
    const wallS = (performance.now() - started) / 1000;
    const stderr = text(output.stderr).trim();
    if (!output.success && options.check !== false) {
      throw new Error(`${command.join(" ")} failed (exit ${output.code}): ${stderr}`);
    }
    // The last line: GNU time puts "Command exited with non-zero status" lines before it.
    const last = Deno.readTextFileSync(timeFile).trim().split("\n").pop()!;
    const [, user, sys, maxRssKiB] = last.split(" ").map(Number);
    return {
      wallS,
      cpuS: user! + sys!,
      rssMiB: maxRssKiB! / 1024,
      code: output.code,
      stdout: options.discardStdout ? "" : text(output.stdout).trim(),
      stderr,
    };
  } finally {
    Deno.removeSync(timeFile);
  }
}

/** Runs `command` to its end and returns its stdout; throws with its stderr when it fails. */
export async function run(
  command: readonly string[],
  env?: Record<string, string>,
): Promise<string> {
  const [program, ...args] = command;
  const output = await new Deno.Command(program!, { args, env, stdin: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(
      `${command.join(" ")} failed (exit ${output.code}): ${text(output.stderr).trim()}`,
    );
  }
  return text(output.stdout).trim();
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
