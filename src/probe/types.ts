import {
  type Family,
  type OccupiedPort,
  PORT_MAX,
  PORT_MIN,
  type ProbeName,
  type Protocol,
  type Sweep,
} from "../round.ts";

/** One protocol and family to sweep. */
export interface Target {
  protocol: Protocol;
  family: Family;
}

/** Every target, in the order results are sorted. */
export const ALL_TARGETS: readonly Target[] = [
  { protocol: "tcp", family: 4 },
  { protocol: "tcp", family: 6 },
  { protocol: "udp", family: 4 },
  { protocol: "udp", family: 6 },
];

/** Unexpected errors of one kind, to be logged once with their count. */
export interface SweepError {
  kind: string;
  count: number;
  example: string;
}

/** What one sweep saw, and what went wrong in it. */
export interface SweepResult extends Sweep {
  probe: ProbeName;
  errors: SweepError[];
}

/** What to sweep; everything is optional. */
export interface SweepOptions {
  /** Aborts the sweep between chunks of work; the sweep then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Protocols and families to sweep; all four when absent. */
  targets?: readonly Target[];
  /** An inclusive port range; 1–65535 when absent. */
  ports?: readonly [from: number, to: number];
}

/** Finds which local ports are occupied. */
export interface Probe {
  readonly name: ProbeName;
  /** Sweeps the requested ports once. */
  sweep(options?: SweepOptions): Promise<SweepResult>;
}

/** Options checked and filled in; what each probe's sweep starts from. */
export interface ResolvedSweep {
  targets: Target[];
  from: number;
  to: number;
  signal: AbortSignal | undefined;
}

/** Checks sweep options and fills in defaults; throws `TypeError`/`RangeError` on bad values. */
export function resolveSweepOptions(options: SweepOptions = {}): ResolvedSweep {
  const [from, to] = options.ports ?? [PORT_MIN, PORT_MAX];
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < PORT_MIN || to > PORT_MAX) {
    throw new RangeError(
      `Port range must be integers within ${PORT_MIN}–${PORT_MAX}: got "${from}–${to}"`,
    );
  }
  if (from > to) throw new RangeError(`Port range must not be reversed: got "${from}–${to}"`);
  const wanted = options.targets ?? ALL_TARGETS;
  for (const target of wanted) {
    if (target.protocol !== "tcp" && target.protocol !== "udp") {
      throw new TypeError(`Protocol must be "tcp" or "udp": got "${target.protocol}"`);
    }
    if (target.family !== 4 && target.family !== 6) {
      throw new TypeError(`Family must be 4 or 6: got "${target.family}"`);
    }
  }
  // Deduplicated and in canonical order, whatever order the caller gave.
  const targets = ALL_TARGETS.filter((t) =>
    wanted.some((w) => w.protocol === t.protocol && w.family === t.family)
  );
  return { targets, from, to, signal: options.signal };
}

/** Orders occupied ports by protocol, family, then port. */
export function compareOccupied(a: OccupiedPort, b: OccupiedPort): number {
  if (a.protocol !== b.protocol) return a.protocol < b.protocol ? -1 : 1;
  return a.family - b.family || a.port - b.port;
}

/** Groups unexpected errors by kind, keeping the first message of each as its example. */
export class ErrorTally {
  #groups = new Map<string, SweepError>();

  /** Counts one error; `context` (e.g. `tcp [::]:80`) prefixes the example. */
  add(kind: string, context: string, error: unknown): void {
    const group = this.#groups.get(kind);
    if (group) {
      group.count++;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    this.#groups.set(kind, { kind, count: 1, example: `${context}: ${message}` });
  }

  /** The groups, in the order their first error came. */
  toArray(): SweepError[] {
    return [...this.#groups.values()];
  }
}

/** The name of an error's class (`AddrInUse`, `PermissionDenied`, ...), for grouping. */
export function errorKind(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * Lets other work run for a moment: a timer turn, not a microtask, so the caller's timers and
 * worker messages get through while a sweep hogs the thread (`MessageChannel` would starve timers).
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Tells a synchronous loop when to yield: `due()` is true once `budgetMs` of work has passed
 * since the last yield. Reading the clock is cheap but not free, so loops call it every few
 * hundred iterations.
 */
export class YieldClock {
  #last = performance.now();
  constructor(readonly budgetMs: number) {}

  /** True when the loop has run for `budgetMs` since the last `yield()`. */
  due(): boolean {
    return performance.now() - this.#last >= this.budgetMs;
  }

  /** Yields to the event loop, then throws if `signal` was aborted meanwhile. */
  async yield(signal: AbortSignal | undefined): Promise<void> {
    await yieldToEventLoop();
    signal?.throwIfAborted();
    this.#last = performance.now();
  }
}
