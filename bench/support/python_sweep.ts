/** The original's `socket.bind` sweep (bench/support/python_sweep.py), run and read. */

import { PYTHON, run } from "./measure.ts";

/** One target of the sweep: tcp4, tcp6, udp4 or udp6. */
export type SweepTarget = "tcp4" | "tcp6" | "udp4" | "udp6";

/** A sweep of ports 1–65535 by the original's method, timed inside Python. */
export interface PythonSweep {
  /** Median wall seconds of a sweep. */
  wallS: number;
  /** Mean CPU seconds (user + sys) of a sweep. */
  cpuS: number;
  /** Ports whose bind failed in the last sweep. */
  occupied: number;
  /** Peak resident set of the Python process, MiB. */
  rssMiB: number;
}

const SCRIPT = new URL("./python_sweep.py", import.meta.url).pathname;

/** Sweeps each target `runs` times with /usr/bin/python3. */
export async function pythonSweeps(
  runs: number,
  targets: readonly SweepTarget[],
): Promise<Record<SweepTarget, PythonSweep>> {
  const output = await run([PYTHON, SCRIPT, String(runs), ...targets]);
  type Raw = { wall: number; cpu: number; occupied: number; rss_kib: number };
  const parsed: Record<string, Raw> = JSON.parse(output);
  return Object.fromEntries(
    Object.entries(parsed).map(([target, r]) => [target, {
      wallS: r.wall,
      cpuS: r.cpu,
      occupied: r.occupied,
      rssMiB: r.rss_kib / 1024,
    }]),
  ) as Record<SweepTarget, PythonSweep>;
}

/** The original's pause after each sweep. */
export const ORIGINAL_PAUSE_S = 5;

/**
 * CPU seconds a minute of the original's scanner: sweeps of `sweep` separated by its 5 s pause,
 * back to back for 60 s (its rounds lasted 60 s).
 */
export function originalScannerCpuPerMinute(sweep: PythonSweep): number {
  const sweepsPerMinute = 60 / (sweep.wallS + ORIGINAL_PAUSE_S);
  return sweepsPerMinute * sweep.cpuS;
}
