/**
 * The capture loop itself, whichever thread runs it: owns one nonblocking `Pcap`, drains it
 * until empty — from the kernel's ring in place where it can (`PacketRing`), else packet by
 * packet through libpcap — decodes, and either counts the round itself (collect: one message at
 * the end, nothing per packet) or posts batches; then sleeps in poll(2) until the kernel hands
 * over more, so a "stop" can get in. live_worker.ts runs it in a Worker; live.ts runs it on the
 * caller's thread when asked.
 *
 * @module
 */

import { PacketRing, Pcap, RingLayoutError } from "../../ffi/mod.ts";
import { decodeFrameAt, type DecodeResult } from "./decode.ts";
import type { FromWorker, WorkerCaptureOptions } from "./live_protocol.ts";
import { serializeError } from "./thread_error.ts";
import { LocalNetworks } from "../net/networks.ts";
import { type CaptureCounts, countResult } from "./offline.ts";
import { RoundTraffic } from "./round_traffic.ts";

/** Packets read per turn before yielding to the message loop even if more are waiting. */
const MAX_PACKETS_PER_TURN = 50_000;
/** Bound on each final read at stop, so a flooded interface cannot keep the loop from ending. */
const MAX_PACKETS_AT_STOP = 1_000_000;
/** Added to the buffer timeout before the last read at stop. */
const STOP_GRACE_MS = 5;
/**
 * Reading through libpcap, with light traffic: after a turn that reads fewer packets than this,
 * the loop sleeps in poll(2) until the kernel retires a ring block — when one fills, or after the
 * buffer timeout — or {@linkcode IDLE_POLL_MS} pass (reading the ring in place, it always does).
 * Each wake-up of a thread costs about 0.2 ms of CPU here (measured: 400 bare 50-ms timers took
 * 0.08 CPU s), so on a quiet interface the wake-ups were most of collect's cost: 50-ms polls and
 * 100-ms batches took 0.72 CPU s a minute at 100 pkt/s, 200-ms polls and 1-s batches 0.3.
 * Sleeping on a timer instead left the loop blind to a flood for up to 200 ms, which only a
 * 32-MiB ring could hold; in poll(2) it wakes when the first 256-KiB block fills. Where poll(2)
 * cannot be had, the pause doubles up to IDLE_POLL_MS.
 */
const BUSY_TURN_PACKETS = 64;
const IDLE_POLL_MS = 200;
/** Results wait at most this long before they are posted (unless a batch fills first). */
const FLUSH_EVERY_MS = 1000;

/** Where the loop's messages go: the worker's `postMessage`, or the caller's handler. */
export type Post = (message: FromWorker, transfer?: Transferable[]) => void;

/** One capture's loop; `start` once, then `stop` (or `abort` when its owner gives up). */
export class CapturePump {
  #pcap: Pcap | null = null;
  /** The handle's ring, read in place; null where libpcap reads packet by packet. */
  #ring: PacketRing | null = null;
  #linkType = 0;
  #options: WorkerCaptureOptions | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #batch: DecodeResult[] = [];
  /** The round, when the loop counts it itself (then nothing is posted per frame). */
  #traffic: RoundTraffic | null = null;
  #lastFlush = 0;
  /** Whether anything keeps packets' payloads: batches do, a round only in packet rows. */
  #keepPayload = true;
  #pollDelay = 0;
  /** The wait for the ring, while one runs: the handle is closed only after it. */
  #waiting: Promise<void> | null = null;
  readonly #counts: CaptureCounts = { frames: 0, ip: 0, nonIp: 0, malformed: 0 };

  constructor(readonly post: Post) {}

  start(options: WorkerCaptureOptions): void {
    this.#options = options;
    if (options.round) {
      this.#traffic = new RoundTraffic({ local: LocalNetworks.ofThisHost(), ...options.round });
      this.#keepPayload = options.round.maxPackets > 0 && options.round.payloadBytes > 0;
    }
    try {
      this.#pcap = Pcap.openLive({
        device: options.device,
        snaplen: options.snaplen,
        promiscuous: options.promiscuous,
        bufferSizeBytes: options.bufferSizeBytes,
        immediate: options.immediate,
        timeoutMs: options.timeoutMs,
        nonblocking: true,
      });
      if (options.filter !== undefined) this.#pcap.setFilter(options.filter);
      this.#linkType = this.#pcap.datalink();
      if (options.reader === "ring") this.#ring = PacketRing.of(this.#pcap);
    } catch (error) {
      if (this.#pcap !== null) this.#close(this.#pcap);
      this.#pcap = null;
      this.post({ type: "error", error: serializeError(error) });
      return;
    }
    this.post({
      type: "started",
      linkType: this.#linkType,
      reader: this.#ring === null ? "libpcap" : "ring",
    });
    this.#timer = setTimeout(() => this.#pump(), 0);
  }

  stop(): void {
    this.#cancel();
    const handle = this.#pcap;
    this.#pcap = null;
    if (handle === null) {
      this.post({
        type: "stopped",
        stats: { received: 0, dropped: 0, ifDropped: 0 },
        counts: this.#counts,
      });
      return;
    }
    try {
      this.#drain(handle, MAX_PACKETS_AT_STOP);
    } catch (error) {
      this.#finishStop(handle, error);
      return;
    }
    // With TPACKET_V3 the kernel hands over a partly filled block only when its timeout expires:
    // wait that long once more so packets captured before "stop" are all delivered.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      try {
        this.#drain(handle, MAX_PACKETS_AT_STOP);
        this.#finishStop(handle, null);
      } catch (error) {
        this.#finishStop(handle, error);
      }
    }, (this.#options?.timeoutMs ?? 0) + STOP_GRACE_MS);
  }

  /** Closes the handle without a word more (the owner has failed; a worker is terminated). */
  abort(): void {
    this.#cancel();
    if (this.#pcap !== null) this.#close(this.#pcap);
    this.#pcap = null;
  }

  /** Closes the handle, and first the views of its ring, which closing unmaps. */
  #close(handle: Pcap): void {
    this.#ring?.close();
    this.#ring = null;
    handle.close();
  }

  #cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Reads up to about `limit` packets (fewer if none wait); returns how many it read. */
  #drain(handle: Pcap, limit: number): number {
    if (this.#ring !== null) {
      try {
        return this.#ring.read(limit, this.#frame);
      } catch (error) {
        if (!(error instanceof RingLayoutError)) throw error;
        // Not the ring ring.ts knows: libpcap's reader takes over from its own first block (a
        // block or two may be lost in the change, which the kernel's drop count then shows).
        this.#ring.close();
        this.#ring = null;
      }
    }
    let read = 0;
    while (read < limit) {
      const packet = handle.next();
      if (packet === null || packet === "eof") break;
      read++;
      this.#frame(
        packet.data,
        0,
        packet.caplen,
        packet.tsSec * 1000 + packet.tsUsec / 1000,
        packet.len,
      );
    }
    return read;
  }

  /** Decodes and counts one frame, `bytes[start, end)`, which is reused once this returns. */
  readonly #frame = (
    bytes: Uint8Array,
    start: number,
    end: number,
    tsMs: number,
    wireLength: number,
  ): void => {
    const result = decodeFrameAt(
      this.#linkType,
      bytes,
      start,
      end,
      tsMs,
      wireLength,
      this.#keepPayload,
    );
    countResult(result, this.#counts);
    if (this.#traffic !== null) {
      if (result.kind === "ip") this.#traffic.add(result.packet);
      return;
    }
    // Copied: the frame's bytes are reused, and the copy is what #flush transfers.
    if (result.kind === "ip") result.packet.payload = result.packet.payload.slice();
    this.#batch.push(result);
    if (this.#batch.length >= (this.#options?.batchSize ?? 1024)) this.#flush();
  };

  /**
   * Posts the pending results, their payloads transferred: each is a copy of its own (#frame), so
   * only payload bytes cross threads, and without another copy.
   */
  #flush(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#lastFlush = performance.now();
    const payloads = batch.flatMap((r) =>
      r.kind === "ip" ? [r.packet.payload.buffer as ArrayBuffer] : []
    );
    this.post({ type: "batch", results: batch }, payloads);
  }

  #pump(): void {
    this.#timer = undefined;
    const pcap = this.#pcap;
    const options = this.#options;
    if (pcap === null || options === null) return;
    let read: number;
    try {
      read = this.#drain(pcap, MAX_PACKETS_PER_TURN);
      if (performance.now() - this.#lastFlush >= FLUSH_EVERY_MS) this.#flush();
    } catch (error) {
      this.#flush();
      this.#close(pcap);
      this.#pcap = null;
      this.post({ type: "error", error: serializeError(error) });
      return;
    }
    // The owner may have stopped or aborted the capture from within this turn (in a batch).
    if (this.#pcap !== pcap) return;
    // A full turn means more may be waiting: come straight back after any pending message.
    if (read >= MAX_PACKETS_PER_TURN || (this.#ring === null && read >= BUSY_TURN_PACKETS)) {
      this.#pollDelay = 0; // the timer fallback starts again from the shortest pause
      return this.#pumpAfter(read >= MAX_PACKETS_PER_TURN ? 0 : options.pollIntervalMs);
    }
    // Sleep until the kernel retires a ring block (full, or after the buffer timeout), so a
    // flood that starts now is read within the first block. Reading the ring in place, the loop
    // always waits so: it has taken every block the kernel handed over.
    const readable = pcap.waitReadable(IDLE_POLL_MS);
    if (readable === null) {
      this.#pollDelay = Math.min(
        Math.max(this.#pollDelay * 2, options.pollIntervalMs),
        IDLE_POLL_MS,
      );
      return this.#pumpAfter(this.#pollDelay);
    }
    this.#waiting = readable.then(() => {
      this.#waiting = null;
      if (this.#pcap === pcap) this.#pump();
    });
  }

  #pumpAfter(delayMs: number): void {
    this.#timer = setTimeout(() => this.#pump(), delayMs);
  }

  #finishStop(handle: Pcap, failure: unknown): void {
    if (this.#waiting !== null) {
      // poll(2) still watches the handle's descriptor: close it once that returns.
      this.#waiting.then(() => this.#finishStop(handle, failure));
      return;
    }
    try {
      this.#flush();
      if (failure !== null) throw failure;
      this.post({
        type: "stopped",
        stats: handle.stats(),
        counts: this.#counts,
        round: this.#traffic?.result(),
      });
    } catch (error) {
      this.post({ type: "error", error: serializeError(error) });
    } finally {
      this.#close(handle);
    }
  }
}
