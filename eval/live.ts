/**
 * The live scenarios of `deno task eval`: real services under benign load in a network namespace
 * of their own, `pad collect` rounds of a few seconds back to back (so an hour of history takes
 * minutes), and real attack tools run between long benign stretches. Produces the collected
 * database and the episodes that label it; `pad detect` and the baselines run on it afterwards.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { exists } from "../src/atomic_file.ts";
import { errorMessage, PadError } from "../src/errors.ts";
import { mulberry32 } from "../src/random.ts";
import { sleep } from "../src/sleep.ts";
import { ANOMALIES } from "./anomalies.ts";
import type { Episode, LabelledDatabase } from "./labels.ts";
import {
  type BenignSummary,
  findTools,
  Lab,
  type LabProcess,
  startBenignLoad,
  startServices,
} from "./services.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** What {@linkcode runLiveScenarios} does; every field but `dir` has a default. */
export interface LiveOptions {
  /** Work directory: the database (`live.db`), the services' configs, `logs/`. */
  dir: string;
  /**
   * Benign rounds after the warm-up, spread evenly before, between and after the anomalies
   * (default 350; quick: 14). Rounds touched by an anomaly or its after-effects come on top.
   */
  benignRounds?: number;
  /**
   * Rounds before the first of those (default 130: `pad detect` learns from 60, then calibrates
   * its threshold on 60 normal scores before it flags anything; quick: 10).
   */
  warmupRounds?: number;
  /** `pad collect --duration` in seconds (default 3; quick: 2). */
  roundSeconds?: number;
  /** A smoke run of about 4 minutes: every anomaly once, too little history to detect anything. */
  quick?: boolean;
  /** Run in a network namespace of their own (default true; false: on this host's lo). */
  netns?: boolean;
  /** Seed of the benign clients' pauses and the DNS tunnel's names (default 1). */
  seed?: number;
  /** Stop scheduling after this long (default: 1.5 × the expected time + 2 minutes). */
  maxMinutes?: number;
  /** Aborting it stops everything and rejects, as SIGINT and SIGTERM do. */
  signal?: AbortSignal;
  /** Where progress lines go (default: stderr, after the time and "live: "). */
  log?: (line: string) => void;
}

/**
 * Runs the live scenarios and returns the database with its episodes. Needs root (capture on
 * lo, raw packets for nmap -sS and hping3, the namespace) and the Debian tools (see
 * {@linkcode findTools}). Every process it starts is stopped before it returns or throws.
 */
export async function runLiveScenarios(options: LiveOptions): Promise<LabelledDatabase> {
  const plan = planOf(options);
  const log = plan.log;
  if (Deno.uid() !== 0) {
    throw new PadError(
      "The live scenarios need root (capture on lo, nmap -sS and hping3, a network namespace): " +
        "run deno task eval as root",
    );
  }
  const tools = findTools();
  Deno.mkdirSync(options.dir, { recursive: true });
  const db = `${options.dir}/live.db`;
  if (exists(db)) {
    throw new PadError(`${db} already exists: remove it, or give the eval another work directory`);
  }

  const interrupt = new AbortController();
  const onSignal = (name: Deno.Signal) => () =>
    interrupt.abort(new PadError(`Live scenarios interrupted (${name}): everything stopped`));
  const handlers = (["SIGINT", "SIGTERM"] as const).map((name) => [name, onSignal(name)] as const);
  for (const [name, handler] of handlers) Deno.addSignalListener(name, handler);
  const onAbort = () => interrupt.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const timeUp = new AbortController();
  const timer = setTimeout(() => timeUp.abort(), plan.maxMs);
  const signal = AbortSignal.any([interrupt.signal, timeUp.signal]);

  const started = Date.now();
  const episodes: Episode[] = [];
  let lab: Lab | undefined;
  let load: { stop(): Promise<BenignSummary> } | undefined;
  let collector: Collector | undefined;
  try {
    log(
      `${plan.warmupRounds} warm-up rounds, ${plan.benignRounds} benign rounds around ` +
        `${ANOMALIES.length} anomalies, rounds of ${plan.roundSeconds} s; expected ` +
        `${minutes(plan.expectedMs)}, bounded at ${minutes(plan.maxMs)}`,
    );
    lab = await Lab.open({ dir: options.dir, netns: options.netns, tools, log });
    const services = await startServices(lab);
    load = startBenignLoad(lab, services, plan.seed);
    collector = new Collector({ lab, db, roundSeconds: plan.roundSeconds, signal });
    collector.start();
    collector.phase = "warm-up";
    await collector.waitRounds(plan.warmupRounds);
    const random = mulberry32(plan.seed + 1);
    const roundMs = plan.roundSeconds * 1000;
    for (const [i, anomaly] of ANOMALIES.entries()) {
      collector.phase = `benign before ${anomaly.type}`;
      await collector.waitRounds(plan.gaps[i]!);
      // Start just after a round has begun, so a short anomaly falls inside one round and not in
      // the gap between two collect processes.
      await collector.nextRoundStart();
      await sleep(300, signal);
      signal.throwIfAborted();
      collector.phase = anomaly.type;
      try {
        const episode = await anomaly.run({ lab, services, roundMs, random, signal });
        episodes.push(episode);
        log(
          `anomaly ${i + 1}/${ANOMALIES.length} ${episode.type}: ` +
            `${seconds(episode.end - episode.start)}, settled ${
              seconds(episode.settled - episode.end)
            } later: ${episode.command}`,
        );
      } catch (error) {
        if (signal.aborted) throw error;
        log(`warning: ${anomaly.type} was not made: ${errorMessage(error)}`);
      }
    }
    collector.phase = "benign, after the last anomaly";
    await collector.waitRounds(plan.tailRounds);
  } catch (error) {
    if (!timeUp.signal.aborted || interrupt.signal.aborted) throw error;
    log(
      `warning: time bound of ${minutes(plan.maxMs)} reached: stopped with ` +
        `${episodes.length} of ${ANOMALIES.length} anomalies made`,
    );
  } finally {
    clearTimeout(timer);
    await collector?.stop(interrupt.signal.aborted);
    const summary = await load?.stop();
    await lab?.close();
    // The lab's end stops what stayed: its episode ends with the collected rounds.
    const last = Date.now();
    for (const e of episodes) if (e.staysToTheEnd) e.end = e.settled = Math.max(e.end, last);
    for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
    options.signal?.removeEventListener("abort", onAbort);
    if (summary) log(`benign clients: ${describeLoad(summary)}`);
    if (collector) {
      log(
        `${collector.completed} rounds complete, ${collector.failed} failed, ` +
          `${seconds(collector.meanRoundMs())} a round, in ${minutes(Date.now() - started)}; ` +
          `database ${db}`,
      );
    }
  }
  return { name: "live", db, episodes };
}

/** The run's shape: options with their defaults. */
interface Plan {
  warmupRounds: number;
  benignRounds: number;
  roundSeconds: number;
  /** Benign rounds before each anomaly. */
  gaps: number[];
  tailRounds: number;
  seed: number;
  expectedMs: number;
  maxMs: number;
  log: (line: string) => void;
}

function planOf(options: LiveOptions): Plan {
  const quick = options.quick ?? false;
  const warmupRounds = count("warmupRounds", options.warmupRounds ?? (quick ? 10 : 130));
  const benignRounds = count("benignRounds", options.benignRounds ?? (quick ? 14 : 350));
  const roundSeconds = options.roundSeconds ?? (quick ? 2 : 3);
  if (!Number.isInteger(roundSeconds) || roundSeconds < 2) {
    throw new RangeError(`roundSeconds must be an integer of at least 2: got ${roundSeconds}`);
  }
  const gap = Math.floor(benignRounds / (ANOMALIES.length + 1));
  // About 150 ms between rounds (Deno's start, the lock, the capture), a few rounds per anomaly,
  // and the connection burst's TIME_WAIT minute.
  const rounds = warmupRounds + benignRounds + 3 * ANOMALIES.length;
  const expectedMs = rounds * (roundSeconds * 1000 + 150) + 65_000;
  return {
    warmupRounds,
    benignRounds,
    roundSeconds,
    gaps: ANOMALIES.map(() => gap),
    tailRounds: benignRounds - gap * ANOMALIES.length,
    seed: options.seed ?? 1,
    expectedMs,
    maxMs: options.maxMinutes ? options.maxMinutes * 60_000 : 1.5 * expectedMs + 120_000,
    log: options.log ??
      ((line) => console.error(`${new Date().toISOString().slice(11, 19)} ${line}`)),
  };
}

function count(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a whole number of rounds: got ${value}`);
  }
  return value;
}

/** What a {@linkcode Collector} needs. */
export interface CollectorOptions {
  lab: Lab;
  /** The database the rounds go to. */
  db: string;
  /** Each round's `--duration`. */
  roundSeconds: number;
  /** Aborting it wakes and rejects every wait (stop the collector separately). */
  signal?: AbortSignal;
}

/**
 * `pad collect` rounds back to back in the lab, each its own process — the real CLI as cron runs
 * it, procfs probe, capture on the lab's lo:
 * `pad --db DB -q collect --probe procfs --interval 1s --duration Ns --interface lo`.
 */
export class Collector {
  /** Rounds that exited 0. */
  completed = 0;
  /** Rounds that did not (an interrupted last round is not counted). */
  failed = 0;
  /** What the run is doing, for the progress lines. */
  phase = "";
  #options: CollectorOptions;
  #loop: Promise<void> | undefined;
  #current: LabProcess | undefined;
  #stopping = false;
  #error: Error | undefined;
  #tick = Promise.withResolvers<void>();
  #wallMs = 0;

  constructor(options: CollectorOptions) {
    this.#options = options;
    options.signal?.addEventListener("abort", () => this.#tick.resolve());
  }

  /** Starts the rounds. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Mean wall time of a complete round, process start to exit, ms. */
  meanRoundMs(): number {
    return this.completed > 0 ? this.#wallMs / this.completed : 0;
  }

  async #run(): Promise<void> {
    const { lab, db, roundSeconds } = this.#options;
    const argv = [Deno.execPath(), "run", "--unstable-net", "--allow-all", MAIN, "--db", db, "-q"];
    argv.push("collect", "--probe", "procfs", "--interval", "1s");
    argv.push("--duration", `${roundSeconds}s`, "--interface", "lo");
    let failedInARow = 0;
    while (!this.#stopping) {
      const began = Date.now();
      this.#current = lab.spawn("collect", argv);
      const status = await this.#current.status;
      if (status.code === 0) {
        this.completed++;
        this.#wallMs += Date.now() - began;
        failedInARow = 0;
        if (this.completed % 25 === 0) {
          lab.log(
            `${this.completed} rounds (${this.failed} failed), ` +
              `${seconds(this.meanRoundMs())} a round; now: ${this.phase}`,
          );
        }
      } else if (!this.#stopping) {
        this.failed++;
        lab.log(`warning: pad collect exited ${status.code}: see ${lab.logDir}/collect.log`);
        if (++failedInARow >= 3) {
          this.#error = new PadError(
            `pad collect failed 3 times in a row: see ${lab.logDir}/collect.log`,
          );
        }
      }
      const tick = this.#tick;
      this.#tick = Promise.withResolvers<void>();
      tick.resolve();
      if (this.#error) break;
    }
  }

  /** Resolves when `rounds` more rounds have completed. */
  async waitRounds(rounds: number): Promise<void> {
    const target = this.completed + rounds;
    while (this.completed < target) {
      this.#check();
      await this.#tick.promise;
    }
  }

  /** Resolves when the next round has started (its row is open, capture is running). */
  async nextRoundStart(): Promise<void> {
    const db = new DatabaseSync(this.#options.db, { readOnly: true });
    try {
      const newest = db.prepare("SELECT id, status FROM rounds ORDER BY id DESC LIMIT 1");
      const before = Number(newest.get()?.id ?? 0);
      const deadline = Date.now() + 3 * this.#options.roundSeconds * 1000 + 10_000;
      for (;;) {
        const row = newest.get();
        if (row && Number(row.id) > before && row.status === "open") return;
        this.#check();
        if (Date.now() > deadline) throw new PadError("No collect round started in time");
        await sleep(50, this.#options.signal);
      }
    } finally {
      db.close();
    }
  }

  #check(): void {
    this.#options.signal?.throwIfAborted();
    if (this.#error) throw this.#error;
    if (this.#stopping) throw new Error("The collector was stopped");
  }

  /**
   * Stops after the running round (or, with `interrupt`, interrupts it: pad stores it as failed).
   */
  async stop(interrupt = false): Promise<void> {
    this.#stopping = true;
    if (interrupt) await this.#current?.stop("SIGINT", 10_000);
    await this.#loop;
  }
}

function describeLoad(summary: BenignSummary): string {
  return Object.entries(summary)
    .map(([name, { runs, failed }]) => `${name} ${runs}${failed ? ` (${failed} failed)` : ""}`)
    .join(", ");
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function minutes(ms: number): string {
  return `${(ms / 60_000).toFixed(1)} min`;
}
