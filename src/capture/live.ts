/**
 * Live capture that never blocks the caller's thread: a Worker owns the libpcap handle, decodes
 * packets and either counts the round itself or posts them back in batches, so the caller may
 * run long synchronous work (a port sweep) while the capture keeps up.
 *
 * @module
 */

import { findAllDevices, PcapError, type PcapStats } from "../../ffi/mod.ts";
import type { DecodeResult } from "./decode.ts";
import type {
  FromWorker,
  SerializedError,
  ToWorker,
  WorkerCaptureOptions,
} from "./live_protocol.ts";
import type { CaptureCounts } from "./offline.ts";
import type { RoundTrafficOptions, RoundTrafficResult } from "./round_traffic.ts";

/** How to run a live capture; only `device` and `onBatch` are required. */
export interface LiveCaptureOptions {
  /** Interface to capture on, e.g. `"eth0"` or `"lo"` (see `defaultInterface()`). */
  device: string;
  /** BPF filter, e.g. `"tcp or udp"`; a bad one rejects the start with libpcap's message. */
  filter?: string;
  /** Bytes kept per packet (default 65,535). */
  snaplen?: number;
  /** Kernel ring size (default 32 MiB): what absorbs bursts while the worker catches up. */
  bufferSizeBytes?: number;
  /** Promiscuous mode (default false). */
  promiscuous?: boolean;
  /** libpcap immediate mode (default false; see `LiveOptions.immediate` in ffi/). */
  immediate?: boolean;
  /** libpcap buffer timeout in ms (default 5): the most a packet waits in a half-full block. */
  timeoutMs?: number;
  /** Results per posted batch at most (default 1,024). */
  batchSize?: number;
  /** The worker's shortest pause between reads, in ms (default 3); it backs off to 200 ms while traffic is light. */
  pollIntervalMs?: number;
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
  /**
   * Stops after delivering every packet already captured, closes the handle and ends the worker.
   * Calling it again returns the same promise.
   */
  stop(): Promise<LiveCaptureSummary>;
}

function deserialize(error: SerializedError): Error {
  if (error.name === "PcapError") {
    return new PcapError(error.message, error.code ?? -1, error.libpcapMessage ?? "");
  }
  const revived = new Error(error.message);
  revived.name = error.name;
  return revived;
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
    bufferSizeBytes: options.bufferSizeBytes ?? 32 * 1024 * 1024,
    promiscuous: options.promiscuous ?? false,
    immediate: options.immediate ?? false,
    timeoutMs: options.timeoutMs ?? 5,
    batchSize: options.batchSize ?? 1024,
    pollIntervalMs: options.pollIntervalMs ?? 3,
    round: options.round,
  };
  const worker = new Worker(new URL("./live_worker.ts", import.meta.url), { type: "module" });
  const send = (message: ToWorker) => worker.postMessage(message);

  return new Promise<LiveCapture>((resolveStart, rejectStart) => {
    let started = false;
    let finished = false;
    let failure: Error | undefined;
    let stopping: Promise<LiveCaptureSummary> | undefined;
    let settleStop: ((summary: LiveCaptureSummary) => void) | undefined;
    let failStop: ((error: Error) => void) | undefined;

    const finish = () => {
      finished = true;
      worker.terminate();
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

    worker.onerror = (event: ErrorEvent) => {
      // An uncaught error inside the worker would otherwise take this thread down too.
      event.preventDefault();
      fail(new Error(`Live capture worker failed: ${event.message}`));
    };
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      switch (message.type) {
        case "started": {
          started = true;
          const capture: LiveCapture = {
            device: options.device,
            linkType: message.linkType,
            stop() {
              stopping ??= failure !== undefined
                ? Promise.reject(failure)
                : new Promise<LiveCaptureSummary>((resolve, reject) => {
                  settleStop = resolve;
                  failStop = reject;
                  send({ type: "stop" });
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
          fail(deserialize(message.error));
          break;
        case "stopped":
          finish();
          settleStop?.({ stats: message.stats, counts: message.counts, round: message.round });
          break;
      }
    };
    send({ type: "start", options: workerOptions });
  });
}

/** The first interface that is up, not loopback, and has an address; null when there is none. */
export function defaultInterface(): string | null {
  const device = findAllDevices().find((d) =>
    d.flags.up && !d.flags.loopback && d.addresses.length > 0
  );
  return device?.name ?? null;
}
