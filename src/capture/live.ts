/**
 * Live capture: a loop ({@linkcode CapturePump}) owns the libpcap handle, decodes packets and
 * either counts the round itself or hands them over in batches. By default it runs in a Worker,
 * so the caller may run long synchronous work (a `listen` sweep) while the capture keeps up; a
 * caller whose own work is short runs it on its thread and saves the worker's memory.
 *
 * @module
 */

import { findAllDevices, type PcapStats } from "../../ffi/mod.ts";
import { CapturePump } from "./capture_pump.ts";
import { reviveError } from "./thread_error.ts";
import type { DecodeResult } from "./decode.ts";
import type { CaptureReader, FromWorker, ToWorker, WorkerCaptureOptions } from "./live_protocol.ts";
import type { CaptureCounts } from "./offline.ts";
import type { RoundTrafficOptions, RoundTrafficResult } from "./round_traffic.ts";

/**
 * The kernel's capture ring by default, 12 MiB (tcpdump's is 2). The kernel maps the whole ring
 * into the process, so it is most of what capture adds to collect's memory (76 MiB at 12). On lo,
 * with the capture loop asleep in poll(2) between blocks, the capture bench measured:
 * - 12 MiB: in one run, nothing lost by the engine or a collect round at the senders' full rate
 *   (650k and 695k packets/s); in two others, a round lost 3,088 of 3.6 M packets from one
 *   sender, and the engine 1.8% of two senders' packets.
 * - 16 MiB: nothing lost in its one run; 4 MiB more.
 * - 32 MiB: a collect round with two senders lost a quarter of the packets in one run and none in
 *   another (tcpdump and the senders held the cores: a larger ring does not help a process that
 *   is not scheduled); 97 MiB.
 * `pad collect --capture-buffer` chooses otherwise.
 */
export const DEFAULT_RING_BYTES = 12 * 1024 * 1024;

/** How to run a live capture; only `device` and `onBatch` are required. */
export interface LiveCaptureOptions {
  /** Interface to capture on, e.g. `"eth0"` or `"lo"` (see `defaultInterface()`). */
  device: string;
  /** BPF filter, e.g. `"tcp or udp"`; a bad one rejects the start with libpcap's message. */
  filter?: string;
  /** Bytes kept per packet (default 65,535). */
  snaplen?: number;
  /**
   * Kernel ring size (default {@linkcode DEFAULT_RING_BYTES}): what absorbs bursts while the loop
   * catches up.
   */
  bufferSizeBytes?: number;
  /** Promiscuous mode (default false). */
  promiscuous?: boolean;
  /** libpcap immediate mode (default false; see `LiveOptions.immediate` in ffi/). */
  immediate?: boolean;
  /**
   * libpcap buffer timeout in ms (default 200): the most a packet waits in a half-full ring block,
   * and so how often a quiet interface wakes the loop (a full block wakes it at once).
   */
  timeoutMs?: number;
  /** Results per posted batch at most (default 1,024). */
  batchSize?: number;
  /** The worker's shortest pause between reads, in ms (default 3); it backs off to 200 ms while traffic is light. */
  pollIntervalMs?: number;
  /**
   * How packets are read (default `"ring"`): where libpcap's kernel ring can be read in place
   * (Linux, Ethernet; see ffi/ring.ts), a block at a time, else one `pcap_next_ex` call a
   * packet; `"libpcap"` always the latter (tests and benchmarks compare the two).
   */
  reader?: CaptureReader;
  /** Receives every frame's result, in capture order, on the caller's thread. */
  onBatch?: (results: DecodeResult[]) => void;
  /**
   * Instead of batches: the worker counts the round itself (traffic of this host's networks,
   * flows, packet rows as these say), and `stop()` reports it.
   */
  round?: RoundTrafficOptions;
  /**
   * Called once if the capture fails after starting (or `onBatch` throws); the capture has then
   * stopped and `stop()` rejects with the same error. Without it the error only surfaces there.
   */
  onError?: (error: Error) => void;
  /**
   * Where the loop runs (default `"worker"`). `"caller"`: on this thread, between the caller's
   * own turns — about 26 MiB less than a worker, for callers that never block for long (the
   * ring must hold what arrives meanwhile).
   */
  thread?: "worker" | "caller";
}

/** What a stopped capture reports. */
export interface LiveCaptureSummary {
  /** libpcap's counters at the end: `dropped` counts packets the ring had no room for. */
  stats: PcapStats;
  /** Frames delivered to `onBatch` (or counted), by kind. */
  counts: CaptureCounts;
  /** The round, when the worker counted it (`round`). */
  round?: RoundTrafficResult;
}

/** A running live capture. */
export interface LiveCapture extends AsyncDisposable {
  /** The interface captured on. */
  readonly device: string;
  /** Its link type (a DLT_ value). */
  readonly linkType: number;
  /** How its packets are read: the ring in place, or libpcap's reader (see `reader`). */
  readonly reader: CaptureReader;
  /**
   * Stops after delivering every packet already captured, closes the handle and ends the worker.
   * Calling it again returns the same promise.
   */
  stop(): Promise<LiveCaptureSummary>;
}

/**
 * Starts capturing in a worker. Resolves once libpcap is capturing; rejects with `PcapError`
 * (permission denied, no such device, bad filter) or `Error` (libpcap missing).
 */
export function startLiveCapture(options: LiveCaptureOptions): Promise<LiveCapture> {
  const workerOptions: WorkerCaptureOptions = {
    device: options.device,
    filter: options.filter,
    snaplen: options.snaplen ?? 65_535,
    bufferSizeBytes: options.bufferSizeBytes ?? DEFAULT_RING_BYTES,
    promiscuous: options.promiscuous ?? false,
    immediate: options.immediate ?? false,
    timeoutMs: options.timeoutMs ?? 200,
    batchSize: options.batchSize ?? 1024,
    pollIntervalMs: options.pollIntervalMs ?? 3,
    reader: options.reader ?? "ring",
    round: options.round,
  };
  return new Promise<LiveCapture>((resolveStart, rejectStart) => {
    let started = false;
    let finished = false;
    let failure: Error | undefined;
    let stopping: Promise<LiveCaptureSummary> | undefined;
    let settleStop: ((summary: LiveCaptureSummary) => void) | undefined;
    let failStop: ((error: Error) => void) | undefined;

    const finish = () => {
      finished = true;
      channel.close();
    };
    const fail = (error: Error) => {
      if (!started) {
        finish();
        rejectStart(error);
        return;
      }
      if (failure !== undefined) return;
      failure = error;
      finish();
      if (failStop) failStop(error);
      else options.onError?.(error);
    };

    const receive = (message: FromWorker) => {
      switch (message.type) {
        case "started": {
          started = true;
          const capture: LiveCapture = {
            device: options.device,
            linkType: message.linkType,
            reader: message.reader,
            stop() {
              stopping ??= failure !== undefined
                ? Promise.reject(failure)
                : new Promise<LiveCaptureSummary>((resolve, reject) => {
                  settleStop = resolve;
                  failStop = reject;
                  channel.send({ type: "stop" });
                });
              return stopping;
            },
            async [Symbol.asyncDispose]() {
              // A caller that already stopped has the outcome; otherwise stop (and report) now.
              if (stopping === undefined) await capture.stop();
            },
          };
          resolveStart(capture);
          break;
        }
        case "batch":
          if (finished) return;
          try {
            options.onBatch?.(message.results);
          } catch (error) {
            fail(error instanceof Error ? error : new Error(String(error)));
          }
          break;
        case "error":
          fail(reviveError(message.error));
          break;
        case "stopped":
          finish();
          settleStop?.({ stats: message.stats, counts: message.counts, round: message.round });
          break;
      }
    };
    const channel = options.thread === "caller"
      ? callerChannel(receive)
      : workerChannel(receive, (message) =>
        fail(new Error(`Live capture worker failed: ${message}`)));
    channel.send({ type: "start", options: workerOptions });
  });
}

/** How live.ts talks to the loop, wherever it runs. */
interface Channel {
  send(message: ToWorker): void;
  /** Ends the loop where it stands (after "stopped", or on failure). */
  close(): void;
}

function workerChannel(
  receive: (message: FromWorker) => void,
  crashed: (message: string) => void,
): Channel {
  const worker = new Worker(new URL("./live_worker.ts", import.meta.url), { type: "module" });
  worker.onerror = (event: ErrorEvent) => {
    // An uncaught error inside the worker would otherwise take this thread down too.
    event.preventDefault();
    crashed(event.message);
  };
  worker.onmessage = (event: MessageEvent<FromWorker>) => receive(event.data);
  return { send: (message) => worker.postMessage(message), close: () => worker.terminate() };
}

function callerChannel(receive: (message: FromWorker) => void): Channel {
  const pump = new CapturePump(receive);
  return {
    send: (message) => message.type === "start" ? pump.start(message.options) : pump.stop(),
    close: () => pump.abort(),
  };
}

/** The first interface that is up, not loopback, and has an address; null when there is none. */
export function defaultInterface(): string | null {
  const device = findAllDevices().find((d) =>
    d.flags.up && !d.flags.loopback && d.addresses.length > 0
  );
  return device?.name ?? null;
}
