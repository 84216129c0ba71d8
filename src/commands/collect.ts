/**
 * `pad collect`: one round — the ports swept again and again while packets are captured, then
 * stored. Its flags are defined in src/cli/collect.ts, which loads this module when it runs.
 *
 * @module
 */
import { plural } from "../report/format.ts";
import { PcapError, PcapStatus } from "../../ffi/mod.ts";
import {
  defaultInterface,
  type LiveCapture,
  type LiveCaptureSummary,
  startLiveCapture,
} from "../capture/live.ts";
import { decodesLinkType } from "../capture/decode.ts";
import { describeLinkType } from "../capture/offline.ts";
import { noTraffic } from "../capture/round_traffic.ts";
import { errorMessage, PadError, UsageError } from "../errors.ts";
import type { CollectFlags } from "../cli/collect.ts";
import { type CommandContext, packetRows } from "../cli/shared.ts";
import { checkPrometheusFile, writePrometheusFile } from "../fleet/prometheus.ts";
import { logger } from "../log.ts";
import type { Output } from "../output.ts";
import { sleep } from "../sleep.ts";
import { createProbe, defaultProbe } from "../probe/mod.ts";
import type { SweepError, SweepResult } from "../probe/types.ts";
import type { ProbeName } from "../round.ts";
import { openDatabase } from "../store/database.ts";
import { lockRole } from "../store/lock.ts";
import { createRound, failAbandonedRounds, finishRound, storeSweep } from "../store/rounds.ts";

/**
 * Pause between sweeps unless `--interval` says otherwise, chosen from bench/collect_bench.ts:
 * two listen sweeps a round cost 7% of one core; procfs sweeps are so cheap that eleven cost
 * 0.7%.
 */
const DEFAULT_INTERVAL_MS = { listen: 25_000, procfs: 5_000 } as const;

/**
 * `pad collect` as the command line runs it: the probe and interval its flags leave to the
 * host, the round ended early on SIGINT or SIGTERM, and the Prometheus file refreshed.
 */
export async function collectAction(opts: CollectFlags, context: CommandContext): Promise<void> {
  const db = context.db();
  const probe = opts.probe ?? defaultProbe();
  if (opts.prometheus) checkPrometheusFile(db, opts.prometheus);
  const interrupt = new AbortController();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const stop = signals.map((signal) => {
    const handler = () => interrupt.abort(signal);
    Deno.addSignalListener(signal, handler);
    return () => Deno.removeSignalListener(signal, handler);
  });
  try {
    await runCollect({
      db,
      probe,
      intervalMs: opts.interval ?? DEFAULT_INTERVAL_MS[probe],
      durationMs: opts.duration,
      capture: opts.capture,
      interface: opts.interface,
      filter: opts.filter,
      captureBufferMiB: opts.captureBuffer,
      payloadBytes: opts.payloadBytes,
      ...packetRows(opts),
      signal: interrupt.signal,
    }, context.summary());
  } finally {
    for (const remove of stop) remove();
  }
  if (opts.prometheus) writePrometheusFile(db, opts.prometheus);
}

/** Options of `pad collect`. */
export interface CollectOptions {
  db: string;
  probe: ProbeName;
  /** Pause between the end of one sweep and the start of the next, ms. */
  intervalMs: number;
  /** Round length in ms; default: until 5 s before the next minute boundary. */
  durationMs?: number;
  /** False for `--no-capture`. */
  capture: boolean;
  /** Capture interface; default: the first up, non-loopback interface with an address. */
  interface?: string;
  /** BPF filter for the capture. */
  filter?: string;
  /** The kernel's capture ring in MiB; default startLiveCapture's (DEFAULT_RING_BYTES). */
  captureBufferMiB?: number;
  /** Payload bytes kept per stored packet (0: none; payloads can hold secrets). */
  payloadBytes: number;
  /** Packet rows stored per round at most (DNS first); counts stay exact. */
  maxPackets: number;
  /** Ends the round early; it is then stored as failed, with what it had. */
  signal?: AbortSignal;
}

/** What one round stored. */
export interface CollectResult {
  roundId: number;
  status: "complete" | "failed";
  sweeps: number;
  /** Ports (per protocol and family) occupied in the last sweep. */
  occupied: number;
  /** Why capture was off, when it was. */
  captureOff?: string;
  packetsSeen: number;
  packetsStored: number;
  /** Connections recorded as flows. */
  flows: number;
  dropped?: number;
}

const log = logger("collect");

/** Time left for the round to finish before the next cron minute starts the next one. */
const MINUTE_MARGIN_MS = 5_000;

/**
 * Round length when `--duration` is not given: until 5 s before the next minute boundary, so
 * back-to-back cron runs never overlap. Started within the last 5 s of a minute (cron ran late),
 * the round runs to the following boundary and the next cron run finds the lock and skips.
 */
export function defaultRoundLength(now: number): number {
  const boundary = Math.ceil((now + 1) / 60_000) * 60_000;
  const left = boundary - MINUTE_MARGIN_MS - now;
  return left > 0 ? left : left + 60_000;
}

/** Runs one round: sweeps ports again and again while capturing, then stores it all. */
export async function runCollect(options: CollectOptions, out: Output): Promise<CollectResult> {
  const startTime = Date.now();
  const deadline = startTime + (options.durationMs ?? defaultRoundLength(startTime));
  using db = openDatabase(options.db);
  using _lock = lockRole(options.db, "collect");
  const abandoned = failAbandonedRounds(db);
  if (abandoned > 0) log.warn("Marked {abandoned} unfinished rounds as failed", { abandoned });

  const probe = createProbe(options.probe);
  const capture = options.capture
    ? await startCapture(options)
    : { off: "turned off with --no-capture" };
  const live = "live" in capture ? capture.live : undefined;
  const roundId = createRound(db, {
    startTime,
    source: "live",
    probe: probe.name,
    interface: live?.device,
    captureOff: "off" in capture ? capture.off : undefined,
  });
  log.debug("Round {roundId} started, ends at {end}", {
    roundId,
    end: new Date(deadline).toISOString(),
  });

  const errors = new Map<string, SweepError>();
  let sweeps = 0;
  let last: SweepResult | undefined;
  try {
    while (!options.signal?.aborted) {
      last = await probe.sweep({ signal: options.signal });
      storeSweep(db, roundId, last);
      sweeps++;
      for (const e of last.errors) {
        const seen = errors.get(e.kind);
        errors.set(e.kind, { ...e, count: (seen?.count ?? 0) + e.count });
      }
      // Sweep again only if a sweep as long as this one ends in time.
      const next = Date.now() + options.intervalMs;
      if (next + last.durationMs > deadline) break;
      await sleep(next - Date.now(), options.signal);
    }
    await sleep(deadline - Date.now(), options.signal);
  } catch (error) {
    if (!options.signal?.aborted) {
      try {
        await closeRound(db, roundId, live, errorMessage(error));
      } catch (closing) {
        // The first failure is the one to tell (a full disk), not what it left broken.
        log.debug("Could not store the failed round: {closing}", { closing });
      }
      throw error;
    }
  }
  for (const e of errors.values()) {
    log.warn("{count} probes failed unexpectedly ({kind}), e.g. {example}", { ...e });
  }
  const interrupted = options.signal?.aborted
    ? `interrupted (${String(options.signal.reason ?? "aborted")})`
    : undefined;
  const figures = await closeRound(db, roundId, live, interrupted);

  const result: CollectResult = {
    roundId,
    status: interrupted ? "failed" : "complete",
    sweeps,
    occupied: last?.occupied.length ?? 0,
    captureOff: "off" in capture ? capture.off : figures.captureOff,
    packetsSeen: figures.seen,
    packetsStored: figures.stored,
    flows: figures.flows,
    dropped: figures.dropped,
  };
  out.write(describe(result, live?.device) + "\n");
  if (interrupted) throw new PadError(`Round ${roundId} ${interrupted}: stored as failed`);
  return result;
}

type CaptureState = { live: LiveCapture } | { off: string };

/** Starts capture; where it cannot run, says why once and how to fix it, and the round goes on. */
async function startCapture(options: CollectOptions): Promise<CaptureState> {
  const device = options.interface ?? defaultInterfaceOrNull();
  if (device === null) {
    return offWith(
      "no interface is up besides loopback",
      "pass --interface lo to capture loopback traffic, or --no-capture",
    );
  }
  try {
    const live = await startLiveCapture({
      device,
      filter: options.filter,
      bufferSizeBytes: options.captureBufferMiB === undefined
        ? undefined
        : options.captureBufferMiB * 1024 * 1024,
      // Counted where the capture runs: no packet crosses to the round's code.
      round: {
        maxPackets: options.maxPackets,
        payloadBytes: options.payloadBytes,
      },
      onError: (error) => log.error("Capture stopped: {message}", { message: error.message }),
      // A procfs sweep takes milliseconds, so the capture can share this thread (and spare a
      // worker's memory); a listen sweep blocks it for seconds.
      thread: options.probe === "procfs" ? "caller" : "worker",
    });
    if (!decodesLinkType(live.linkType)) {
      log.warn(
        "Capture on {device}: pad does not decode link type {type}, so its packets count as " +
          "not IP; capture on another interface, or pass --no-capture",
        { device, type: describeLinkType(live.linkType) },
      );
    }
    return { live };
  } catch (error) {
    if (error instanceof PcapError && options.filter && /filter/i.test(error.message)) {
      throw new UsageError(
        `Invalid --filter "${options.filter}": ${error.libpcapMessage || error.message}`,
      );
    }
    if (
      options.interface !== undefined && error instanceof PcapError &&
      error.code === PcapStatus.NO_SUCH_DEVICE
    ) {
      // Asked for by name, it is a mistake to fix, not a round to run without capture.
      throw new UsageError(
        `Invalid --interface "${options.interface}": no such interface; ` +
          "pad doctor lists the interfaces",
      );
    }
    if (error instanceof PcapError && error.code === PcapStatus.PERM_DENIED) {
      return offWith(
        `no permission to capture on ${device}`,
        "run pad as root, or give the binary the capability: " +
          "sudo setcap cap_net_raw,cap_net_admin=eip $(command -v pad)",
      );
    }
    if (!(error instanceof PcapError)) {
      return offWith(
        errorMessage(error),
        "install libpcap (apt-get install libpcap0.8), or pass --no-capture",
      );
    }
    return offWith(
      error.message,
      "check --interface (pad doctor lists the interfaces), or pass --no-capture",
    );
  }
}

function defaultInterfaceOrNull(): string | null {
  try {
    return defaultInterface();
  } catch {
    return null; // libpcap missing: startLiveCapture below says so
  }
}

function offWith(reason: string, fix: string): { off: string } {
  log.warn("Capture is off: {reason}; {fix}. Ports are still swept.", { reason, fix });
  return { off: reason };
}

/** Stops capture and stores the round's traffic with its final status. */
async function closeRound(
  db: ReturnType<typeof openDatabase>,
  roundId: number,
  live: LiveCapture | undefined,
  error: string | undefined,
): Promise<
  { seen: number; stored: number; flows: number; dropped?: number; captureOff?: string }
> {
  let captureOff: string | undefined;
  let summary: LiveCaptureSummary | undefined;
  if (live) {
    try {
      summary = await live.stop();
    } catch (e) {
      captureOff = `capture failed during the round: ${errorMessage(e)}`;
    }
  }
  // Without capture, or when it failed, the round holds no traffic (and says why).
  const traffic = summary?.round ?? noTraffic();
  const stats = summary?.stats;
  finishRound(db, roundId, {
    endTime: Date.now(),
    status: error ? "failed" : "complete",
    error,
    captureOff,
    capture: {
      received: stats?.received,
      dropped: stats?.dropped,
      ifDropped: stats?.ifDropped,
      seen: traffic.seen,
      malformed: summary?.counts.malformed ?? 0,
      dns: traffic.dns,
      // Unknown (NULL) when there was no capture, not 0.
      attempts: summary?.round ? traffic.attempts : undefined,
    },
    traffic: traffic.counts,
    packets: traffic.packets,
    flows: traffic.flows,
  });
  return {
    seen: traffic.seen,
    stored: traffic.packets.length,
    flows: traffic.flows.rows.length,
    dropped: stats?.dropped,
    captureOff,
  };
}

function describe(result: CollectResult, device: string | undefined): string {
  const capture = result.captureOff
    ? `capture off (${result.captureOff})`
    : `${result.packetsSeen} packets on ${device} (${plural(result.flows, "flow")}, ${
      plural(result.packetsStored, "packet row")
    }, ${result.dropped ?? 0} dropped)`;
  return `Round ${result.roundId} ${result.status}: ${plural(result.sweeps, "sweep")}, ` +
    `${plural(result.occupied, "port")} occupied, ${capture}`;
}
