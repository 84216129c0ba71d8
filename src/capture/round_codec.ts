/**
 * A round's traffic as it crosses between threads: its traffic rows and flows as columns of
 * numbers in one `Float64Array` (transferred, not copied) and their texts in a short list. The
 * structured clone of the objects themselves cost an office LAN's import half a second, about as
 * much as reading the whole file; this costs a few tens of milliseconds. The round's other
 * figures and its (opt-in) packet rows are cloned as they are.
 *
 * @module
 */
import type { FlowRow, TrafficProtocol, TrafficRow } from "../round.ts";
import type { RoundTrafficResult } from "./round_traffic.ts";

/** A {@linkcode RoundTrafficResult} ready to post; `transfer` lists what to move, not copy. */
export interface EncodedRound {
  rest: Omit<RoundTrafficResult, "counts" | "flows"> & { flowsOver: number };
  counts: number;
  flows: number;
  numbers: Float64Array<ArrayBuffer>;
  texts: string[];
}

const PROTOCOLS: readonly TrafficProtocol[] = ["tcp", "udp", "icmp", "icmpv6", "other"];
const DIRECTIONS = ["in", "out", "local"] as const;
const STATES = ["unanswered", "reset", "closed", "open"] as const;
/** Each value's number: its index above. */
const numberOf = (values: readonly string[]) => new Map(values.map((value, i) => [value, i]));
const PROTOCOL = numberOf(PROTOCOLS);
const DIRECTION = numberOf(DIRECTIONS);
const STATE = numberOf(STATES);
/** Numbers per traffic row and per flow. */
const COUNT_WIDTH = 8;
const FLOW_WIDTH = 17;
/** Stands for null (no port, flag, state or text). */
const NONE = -1;

/** Encodes `round`; post it with `[encoded.numbers.buffer]` as the transfer list. */
export function encodeRound(round: RoundTrafficResult): EncodedRound {
  const { counts, flows, ...rest } = round;
  const numbers = new Float64Array(counts.length * COUNT_WIDTH + flows.rows.length * FLOW_WIDTH);
  const texts: string[] = [];
  const textIndex = new Map<string, number>();
  const text = (value: string | null): number => {
    if (value === null) return NONE;
    let index = textIndex.get(value);
    if (index === undefined) textIndex.set(value, index = texts.push(value) - 1);
    return index;
  };
  let at = 0;
  for (const t of counts) {
    numbers[at++] = t.port ?? NONE;
    numbers[at++] = PROTOCOL.get(t.protocol)!;
    numbers[at++] = DIRECTION.get(t.direction)!;
    numbers[at++] = t.packets;
    numbers[at++] = t.bytes;
    numbers[at++] = t.peers;
    numbers[at++] = t.remotePorts;
    numbers[at++] = t.accepts ?? NONE;
  }
  for (const f of flows.rows) {
    numbers[at++] = PROTOCOL.get(f.protocol)!;
    numbers[at++] = f.family;
    numbers[at++] = text(f.localAddr);
    numbers[at++] = f.port ?? NONE;
    numbers[at++] = text(f.remoteAddr);
    numbers[at++] = f.remotePort ?? NONE;
    numbers[at++] = DIRECTION.get(f.direction)!;
    numbers[at++] = f.firstSeen;
    numbers[at++] = f.lastSeen;
    numbers[at++] = f.packetsIn;
    numbers[at++] = f.packetsOut;
    numbers[at++] = f.bytesIn;
    numbers[at++] = f.bytesOut;
    numbers[at++] = f.tcpFlags ?? NONE;
    numbers[at++] = f.state === null ? NONE : STATE.get(f.state)!;
    numbers[at++] = text(f.dnsQuery);
    numbers[at++] = text(f.dnsAnswer);
  }
  return {
    rest: { ...rest, flowsOver: flows.over },
    counts: counts.length,
    flows: flows.rows.length,
    numbers,
    texts,
  };
}

/** The round {@linkcode encodeRound} encoded. */
export function decodeRound(encoded: EncodedRound): RoundTrafficResult {
  const { numbers: n, texts } = encoded;
  const orNull = (value: number): number | null => value === NONE ? null : value;
  const text = (index: number): string | null => index === NONE ? null : texts[index]!;
  const counts: TrafficRow[] = [];
  let at = 0;
  for (let i = 0; i < encoded.counts; i++, at += COUNT_WIDTH) {
    const row: TrafficRow = {
      port: orNull(n[at]!),
      protocol: PROTOCOLS[n[at + 1]!]!,
      direction: DIRECTIONS[n[at + 2]!] as TrafficRow["direction"],
      packets: n[at + 3]!,
      bytes: n[at + 4]!,
      peers: n[at + 5]!,
      remotePorts: n[at + 6]!,
    };
    if (n[at + 7] !== NONE) row.accepts = n[at + 7]!;
    counts.push(row);
  }
  const rows: FlowRow[] = [];
  for (let i = 0; i < encoded.flows; i++, at += FLOW_WIDTH) {
    rows.push({
      protocol: PROTOCOLS[n[at]!]!,
      family: n[at + 1]! as FlowRow["family"],
      localAddr: texts[n[at + 2]!]!,
      port: orNull(n[at + 3]!),
      remoteAddr: texts[n[at + 4]!]!,
      remotePort: orNull(n[at + 5]!),
      direction: DIRECTIONS[n[at + 6]!]!,
      firstSeen: n[at + 7]!,
      lastSeen: n[at + 8]!,
      packetsIn: n[at + 9]!,
      packetsOut: n[at + 10]!,
      bytesIn: n[at + 11]!,
      bytesOut: n[at + 12]!,
      tcpFlags: orNull(n[at + 13]!),
      state: n[at + 14] === NONE ? null : STATES[n[at + 14]!]!,
      dnsQuery: text(n[at + 15]!),
      dnsAnswer: text(n[at + 16]!),
    });
  }
  const { flowsOver, ...rest } = encoded.rest;
  return { ...rest, counts, flows: { rows, over: flowsOver } };
}
