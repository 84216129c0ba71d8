/**
 * Messages between `import_reader.ts` (the importing thread, which stores) and
 * `import_worker.ts` (which reads, decodes and counts the capture file into rounds).
 *
 * @module
 */
import type { CaptureCounts } from "./offline.ts";
import type { SerializedError } from "./live_protocol.ts";
import type { EncodedRound } from "./round_codec.ts";
import type { SliceCounts } from "./round_slicer.ts";

/** What the worker needs to read a capture file into rounds. */
export interface FileRoundsOptions {
  file: string;
  filter?: string;
  reader?: "pad" | "libpcap";
  roundLengthMs: number;
  /** Networks of the monitored host. */
  local: string[];
  maxPackets: number;
  payloadBytes: number;
  /**
   * One counter: the rounds posted and not yet stored. The worker waits while it reaches
   * {@linkcode MAX_ROUNDS_IN_FLIGHT}, so a store slower than the reading (packet rows) keeps
   * memory bounded.
   */
  inFlight: SharedArrayBuffer;
}

/** Rounds read ahead of the store at most. */
export const MAX_ROUNDS_IN_FLIGHT = 32;

/** A capture file's record that ended the reading early. */
export interface StoppedBy {
  kind: "truncated" | "corrupt";
  message: string;
}

/** What the reading saw besides its rounds. */
export interface FileRoundsEnd {
  counts: CaptureCounts;
  /** Frames of each link type pad does not decode, by the link type's name. */
  undecoded: [linkType: string, frames: number][];
  slices: SliceCounts;
  /** The first and last storable time stamps (Infinity and -Infinity where none was). */
  span: { first: number; last: number };
  stoppedBy: StoppedBy | null;
  /** Packets with no local address, and the addresses they hold most. */
  strangers: { packets: number; top: [address: string, packets: number][] };
}

/** Importer → worker: open the file, then (once the importer is ready) read it. */
export type ToImportWorker =
  | { type: "open"; options: FileRoundsOptions }
  | { type: "read" };

/** Worker → importer. */
export type FromImportWorker =
  | { type: "opened"; reader: "pad" | "libpcap" }
  | { type: "round"; slot: number; round: EncodedRound; malformed: number }
  | { type: "progress"; frames: number; rounds: number }
  | { type: "end"; end: FileRoundsEnd }
  | { type: "error"; error: SerializedError };
