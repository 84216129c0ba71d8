/**
 * Flow records: one row per connection and round, the way Zeek's conn.log and NetFlow/IPFIX keep
 * traffic (a connection longer than a round has a row in each, as a flow exporter's active
 * timeout makes), at a small fraction of a row per packet.
 *
 * A flow is told by its transport and its two ends. Its local end is this host's (for a
 * connection between two of its own addresses, loopback, the end that started it, usually the
 * client whose process is the interesting one); `direction` says who started it: `out` this host,
 * `in` the remote end, `local` both ends are this host's. Who started a flow is the sender of its
 * SYN where one was seen (the receiver of a SYN-ACK), else the end with the higher port (a
 * client's ephemeral one), else the sender of its first packet in the round.
 * A flow with neither end local is recorded as `in` to the end that was reached for.
 *
 * @module
 */
import type { FlowRow } from "../round.ts";
import type { DecodedPacket } from "./decode.ts";

/** Flows one round records at most (memory bound: a SYN flood from random ports is a flow each). */
export const MAX_FLOWS = 20_000;

/** TCP flags, as `DecodedPacket.tcpFlags` holds them. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

/** Accumulates one round's flows. */
export class FlowTally {
  readonly #flows = new Map<string, FlowRow>();
  /** Flows seen after {@linkcode MAX_FLOWS} were recorded: counted, not kept. */
  over = 0;
  // The flows of the last two packets, checked before building the map's key (a text of five
  // fields, most of a flow's cost when built for every packet): a connection's packets come in
  // runs, and a conversation's two ends take turns.
  #last: FlowRow | null = null;
  #previous: FlowRow | null = null;

  /** Counts `packet` in its flow; `srcLocal` and `dstLocal` as the caller found them. */
  add(packet: DecodedPacket, srcLocal: boolean, dstLocal: boolean): void {
    const { src, dst, srcPort, dstPort } = packet;
    let row = this.#last;
    if (row === null || !isFlowOf(row, packet)) {
      row = this.#previous !== null && isFlowOf(this.#previous, packet)
        ? this.#previous
        : this.#find(packet, srcLocal, dstLocal);
      if (row === null) return;
      this.#previous = this.#last;
      this.#last = row;
    }
    // Sent by the local end (and not to itself: a socket talking to itself counts in).
    const out = src === row.localAddr && srcPort === row.port &&
      !(dst === row.localAddr && dstPort === row.port);
    if (out) {
      row.packetsOut++;
      row.bytesOut += packet.length;
    } else {
      row.packetsIn++;
      row.bytesIn += packet.length;
    }
    if (packet.tsMs < row.firstSeen) row.firstSeen = packet.tsMs;
    if (packet.tsMs > row.lastSeen) row.lastSeen = packet.tsMs;
    if (packet.tcpFlags !== null) row.tcpFlags = (row.tcpFlags ?? 0) | packet.tcpFlags;
    if (row.dnsQuery === null && packet.dnsQueryName !== null) row.dnsQuery = packet.dnsQueryName;
    if (row.dnsAnswer === null && packet.dnsResponseName !== null) {
      row.dnsAnswer = packet.dnsResponseName;
    }
  }

  /**
   * The round's flows, in the order they started, each with how it ended: the tally's own rows
   * (not copies: a round's 100,000 flows are costly to copy), for the end of the round.
   */
  rows(): FlowRow[] {
    const rows = [...this.#flows.values()];
    for (const row of rows) row.state = flowState(row);
    return rows;
  }

  /** The flow of `packet`, opened if new; null past {@linkcode MAX_FLOWS}. */
  #find(packet: DecodedPacket, srcLocal: boolean, dstLocal: boolean): FlowRow | null {
    const { src, dst, srcPort, dstPort, transport } = packet;
    // Both ends local (or neither): one key whichever way the packet goes.
    const srcFirst = srcLocal === dstLocal
      ? src < dst || (src === dst && (srcPort ?? 0) <= (dstPort ?? 0))
      : srcLocal;
    const key = srcFirst
      ? `${transport} ${src} ${srcPort} ${dst} ${dstPort}`
      : `${transport} ${dst} ${dstPort} ${src} ${srcPort}`;
    let row = this.#flows.get(key);
    if (row === undefined) {
      if (this.#flows.size >= MAX_FLOWS) {
        this.over++;
        return null;
      }
      this.#flows.set(key, row = openFlow(packet, srcLocal, dstLocal));
    }
    return row;
  }
}

/** Whether `packet` goes between the two ends of `row`, either way. */
function isFlowOf(row: FlowRow, packet: DecodedPacket): boolean {
  if (row.protocol !== packet.transport) return false;
  const { src, dst, srcPort, dstPort } = packet;
  return (src === row.localAddr && srcPort === row.port && dst === row.remoteAddr &&
    dstPort === row.remotePort) ||
    (dst === row.localAddr && dstPort === row.port && src === row.remoteAddr &&
      srcPort === row.remotePort);
}

/** A new flow for `packet`'s connection, turned the way its first packet says. */
function openFlow(packet: DecodedPacket, srcLocal: boolean, dstLocal: boolean): FlowRow {
  const flags = packet.tcpFlags ?? 0;
  const { srcPort, dstPort } = packet;
  let starter: "src" | "dst";
  if ((flags & TCP_SYN) !== 0) starter = (flags & TCP_ACK) === 0 ? "src" : "dst";
  // Joined mid-way (the round began during the connection): the client is the end with the
  // higher port, a server's is the lower one (443 and 50584, 53 and 41235).
  else if (srcPort !== null && dstPort !== null && srcPort !== dstPort) {
    starter = srcPort > dstPort ? "src" : "dst";
  } else starter = "src";
  let localIs: "src" | "dst";
  let direction: FlowRow["direction"];
  if (srcLocal && dstLocal) {
    [localIs, direction] = [starter, "local"];
  } else if (srcLocal) {
    [localIs, direction] = ["src", starter === "src" ? "out" : "in"];
  } else if (dstLocal) {
    [localIs, direction] = ["dst", starter === "src" ? "in" : "out"];
  } else {
    // Neither end local: the end that was reached for, as round_traffic.ts counts it.
    [localIs, direction] = [starter === "src" ? "dst" : "src", "in"];
  }
  const local = localIs === "src"
    ? { addr: packet.src, port: packet.srcPort, remote: packet.dst, remotePort: packet.dstPort }
    : { addr: packet.dst, port: packet.dstPort, remote: packet.src, remotePort: packet.srcPort };
  return {
    protocol: packet.transport,
    family: packet.family,
    localAddr: local.addr,
    port: local.port,
    remoteAddr: local.remote,
    remotePort: local.remotePort,
    direction,
    firstSeen: packet.tsMs,
    lastSeen: packet.tsMs,
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    tcpFlags: null,
    state: null,
    dnsQuery: null,
    dnsAnswer: null,
  };
}

/**
 * How a flow stood at the end of the round: `unanswered` when the end that started it heard
 * nothing back, and for TCP `reset` (an RST), `closed` (a FIN) or `open`; null for an answered
 * flow of another transport.
 */
function flowState(row: FlowRow): FlowRow["state"] {
  const started = row.direction === "in" ? row.packetsIn : row.packetsOut;
  const answered = row.direction === "in" ? row.packetsOut : row.packetsIn;
  if (started > 0 && answered === 0) return "unanswered";
  if (row.tcpFlags === null) return null;
  if ((row.tcpFlags & TCP_RST) !== 0) return "reset";
  if ((row.tcpFlags & TCP_FIN) !== 0) return "closed";
  return "open";
}
