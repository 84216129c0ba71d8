/**
 * Messages between `live.ts` (the caller's thread) and `live_worker.ts` (which owns the handle).
 *
 * @module
 */

import type { PcapStats } from "../../ffi/mod.ts";
import type { DecodeResult } from "./decode.ts";
import type { CaptureCounts } from "./offline.ts";
import type { RoundTrafficOptions, RoundTrafficResult } from "./round_traffic.ts";

/** What the worker needs to open the capture. */
export interface WorkerCaptureOptions {
  device: string;
  filter: string | undefined;
  snaplen: number;
  bufferSizeBytes: number;
  promiscuous: boolean;
  immediate: boolean;
  timeoutMs: number;
  batchSize: number;
  pollIntervalMs: number;
  /** The kernel's ring in place where it can be read so, or libpcap's reader always. */
  reader: CaptureReader;
  /** Count the round in the worker (this host's networks) instead of posting every frame. */
  round?: RoundTrafficOptions;
}

/** How a live capture reads packets: see `LiveCaptureOptions.reader`. */
export type CaptureReader = "ring" | "libpcap";

/** An error as it crosses the thread boundary (class instances do not survive cloning). */
export interface SerializedError {
  name: string;
  message: string;
  /** libpcap's status code, for a `PcapError`. */
  code?: number;
  libpcapMessage?: string;
}

/** Caller → worker. */
export type ToWorker =
  | { type: "start"; options: WorkerCaptureOptions }
  | { type: "stop" };

/** Worker → caller. */
export type FromWorker =
  | { type: "started"; linkType: number; reader: CaptureReader }
  | { type: "batch"; results: DecodeResult[] }
  | { type: "error"; error: SerializedError }
  | { type: "stopped"; stats: PcapStats; counts: CaptureCounts; round?: RoundTrafficResult };
