/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
/**
 * The live capture worker: owns one nonblocking `Pcap`, drains it until empty, decodes, and
 * either counts the round itself (collect: one message at the end, nothing per packet crosses
 * threads) or posts batches; then sleeps a few milliseconds so a "stop" message can get in.
 *
 * @module
 */

import { Pcap, PcapError } from "../../ffi/mod.ts";
import type { DecodeResult } from "./decode.ts";
import type {
  FromWorker,
  SerializedError,
  ToWorker,
  WorkerCaptureOptions,
} from "./live_protocol.ts";
import { LocalNetworks } from "../net/networks.ts";
import { type CaptureCounts, decodeAndCount } from "./offline.ts";
import { RoundTraffic } from "./round_traffic.ts";

/** Packets read per turn before yielding to the message loop even if more are waiting. */
const MAX_PACKETS_PER_TURN = 50_000;
/** Bound on each final read at stop, so a flooded interface cannot keep the worker from ending. */
const MAX_PACKETS_AT_STOP = 1_000_000;
/** Added to the buffer timeout before the last read at stop. */
const STOP_GRACE_MS = 5;
/**
 * Light traffic: a turn that reads fewer packets than this doubles the pause before the next
 * one, up to {@linkcode IDLE_POLL_MS}. Each wake-up of a thread costs about 0.2 ms of CPU here
 * (measured: 400 bare 50-ms timers took 0.08 CPU s), so on a quiet interface the wake-ups were
 * most of collect's cost: 50-ms polls and 100-ms batches took 0.72 CPU s a minute at 100 pkt/s,
 * 200-ms polls and 1-s batches 0.3. The kernel ring (32 MiB) holds 200 ms of a saturated
 * 1 Gbit/s link, and a turn that finds traffic brings the pause straight back down.
 */
const BUSY_TURN_PACKETS = 64;
const IDLE_POLL_MS = 200;
/** Results wait at most this long before they are posted (unless a batch fills first). */
const FLUSH_EVERY_MS = 1000;

let pcap: Pcap | null = null;
let linkType = 0;
let options: WorkerCaptureOptions | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
let batch: DecodeResult[] = [];
/** The round, when the worker counts it itself (then nothing is posted per frame). */
let traffic: RoundTraffic | null = null;
let lastFlush = 0;
let pollDelay = 0;
const counts: CaptureCounts = { frames: 0, ip: 0, nonIp: 0, malformed: 0 };

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

function serialize(error: unknown): SerializedError {
  if (error instanceof PcapError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      libpcapMessage: error.libpcapMessage,
    };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

function start(startOptions: WorkerCaptureOptions): void {
  options = startOptions;
  if (startOptions.round) {
    traffic = new RoundTraffic({ local: LocalNetworks.ofThisHost(), ...startOptions.round });
  }
  try {
    pcap = Pcap.openLive({
      device: startOptions.device,
      snaplen: startOptions.snaplen,
      promiscuous: startOptions.promiscuous,
      bufferSizeBytes: startOptions.bufferSizeBytes,
      immediate: startOptions.immediate,
      timeoutMs: startOptions.timeoutMs,
      nonblocking: true,
    });
    if (startOptions.filter !== undefined) pcap.setFilter(startOptions.filter);
    linkType = pcap.datalink();
  } catch (error) {
    pcap?.close();
    pcap = null;
    post({ type: "error", error: serialize(error) });
    return;
  }
  post({ type: "started", linkType });
  timer = setTimeout(pump, 0);
}

/** Reads up to `limit` packets (fewer if the ring runs dry); returns how many it read. */
function drain(handle: Pcap, limit: number, batchSize: number): number {
  let read = 0;
  while (read < limit) {
    const packet = handle.next();
    if (packet === null || packet === "eof") break;
    read++;
    const result = decodeAndCount(linkType, packet, counts);
    if (traffic !== null) {
      if (result.kind === "ip") traffic.add(result.packet);
      continue;
    }
    batch.push(result);
    if (batch.length >= batchSize) flush();
  }
  return read;
}

/**
 * Posts the pending results. Payloads are gathered into one new buffer that is transferred, so
 * only payload bytes cross threads (not the slabs the frames were copied into), without a copy.
 */
function flush(): void {
  if (batch.length === 0) return;
  let total = 0;
  for (const result of batch) if (result.kind === "ip") total += result.packet.payload.length;
  const payloads = new Uint8Array(total);
  let at = 0;
  for (const result of batch) {
    if (result.kind !== "ip") continue;
    const payload = result.packet.payload;
    payloads.set(payload, at);
    result.packet.payload = payloads.subarray(at, at + payload.length);
    at += payload.length;
  }
  post({ type: "batch", results: batch }, [payloads.buffer]);
  batch = [];
  lastFlush = performance.now();
}

function pump(): void {
  timer = undefined;
  if (pcap === null || options === null) return;
  let read: number;
  try {
    read = drain(pcap, MAX_PACKETS_PER_TURN, options.batchSize);
    if (performance.now() - lastFlush >= FLUSH_EVERY_MS) flush();
  } catch (error) {
    flush();
    pcap.close();
    pcap = null;
    post({ type: "error", error: serialize(error) });
    return;
  }
  // A full turn means more may be waiting: come straight back after any pending message.
  pollDelay = read >= MAX_PACKETS_PER_TURN
    ? 0
    : read >= BUSY_TURN_PACKETS
    ? options.pollIntervalMs
    : Math.min(Math.max(pollDelay * 2, options.pollIntervalMs), IDLE_POLL_MS);
  timer = setTimeout(pump, pollDelay);
}

function stop(): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  const handle = pcap;
  pcap = null;
  if (handle === null) {
    post({ type: "stopped", stats: { received: 0, dropped: 0, ifDropped: 0 }, counts });
    return;
  }
  const batchSize = options?.batchSize ?? 1024;
  try {
    drain(handle, MAX_PACKETS_AT_STOP, batchSize);
  } catch (error) {
    finishStop(handle, error);
    return;
  }
  // With TPACKET_V3 the kernel hands over a partly filled block only when its timeout expires:
  // wait that long once more so packets captured before "stop" are all delivered.
  setTimeout(() => {
    try {
      drain(handle, MAX_PACKETS_AT_STOP, batchSize);
      finishStop(handle, null);
    } catch (error) {
      finishStop(handle, error);
    }
  }, (options?.timeoutMs ?? 0) + STOP_GRACE_MS);
}

function finishStop(handle: Pcap, failure: unknown): void {
  try {
    flush();
    if (failure !== null) throw failure;
    post({ type: "stopped", stats: handle.stats(), counts, round: traffic?.result() });
  } catch (error) {
    post({ type: "error", error: serialize(error) });
  } finally {
    handle.close();
  }
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === "start") start(message.options);
  else if (message.type === "stop") stop();
};
