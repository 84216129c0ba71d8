/**
 * Which local ports are occupied: the listen probe (bind each port) and the procfs probe (read
 * the kernel's socket tables), behind one {@linkcode Probe} interface.
 *
 * @module
 */

import { ListenProbe } from "./listen.ts";
import { ProcfsProbe } from "./procfs.ts";
import { PROBE_NAMES, type ProbeName } from "../round.ts";
import type { Probe } from "./types.ts";

export { ListenProbe, type ListenProbeOptions } from "./listen.ts";
export {
  parseProcNet,
  ProcfsProbe,
  type ProcfsProbeOptions,
  type ProcNetSocket,
} from "./procfs.ts";
export {
  ALL_TARGETS,
  type Probe,
  type SweepError,
  type SweepOptions,
  type SweepResult,
  type Target,
} from "./types.ts";

/**
 * The probe collect uses when none is named: procfs where the kernel's socket tables can be
 * read (Linux: it sees every port, ports below 1024 included, at a fraction of the cost),
 * listen elsewhere.
 */
export function defaultProbe(): ProbeName {
  try {
    Deno.openSync("/proc/net/tcp").close();
    return "procfs";
  } catch {
    return "listen";
  }
}

/** The probe called `name`, with default options; throws `RangeError` for other names. */
export function createProbe(name: ProbeName): Probe {
  switch (name) {
    case "listen":
      return new ListenProbe();
    case "procfs":
      return new ProcfsProbe();
    default:
      throw new RangeError(
        `Probe must be one of ${PROBE_NAMES.map((n) => `"${n}"`).join(", ")}: got "${name}"`,
      );
  }
}
