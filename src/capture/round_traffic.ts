/**
 * One round's traffic: exact counts per local port, transport and direction, its flows
 * (flows.ts), and the packet rows worth storing (at most `maxPackets`, DNS first).
 *
 * The local side of a packet is decided by {@linkcode LocalNetworks}: a packet from a local
 * address counts as "out" on its source port, one to a local address as "in" on its destination
 * port, so a packet between two local sockets (loopback) counts once on each side. A packet with
 * neither end local (a capture of someone else's traffic) counts as "in" on its destination.
 *
 * @module
 */
import type { DecodedPacket } from "./decode.ts";
import { LocalNetworks } from "../net/networks.ts";
import type {
  ConnectionAttempts,
  Direction,
  DnsSummary,
  FlowRow,
  PacketRow,
  TrafficRow,
} from "../round.ts";
import { ConnectionAttemptTally } from "./connection_attempts.ts";
import { FlowTally, TCP_ACK, TCP_SYN } from "./flows.ts";

/** Distinct peers and remote ports are counted exactly up to this many per count (memory bound). */
export const DISTINCT_LIMIT = 65_536;

interface Tally {
  port: number | null;
  protocol: DecodedPacket["transport"];
  direction: Direction;
  packets: number;
  bytes: number;
  /** SYN-ACKs sent from the port (out): connections it accepted. */
  accepts: number;
  peers: Set<string>;
  remotePorts: Set<number>;
  // The peer and remote port added last: a packet of the same flow skips hashing them again.
  lastPeer: string | null;
  lastRemotePort: number | null;
}

/** Tallies are found by a number: (port or 65,536) × 16 + transport × 2 + direction. */
const NO_PORT = 65_536;

function transportIndex(transport: DecodedPacket["transport"]): number {
  switch (transport) {
    case "tcp":
      return 0;
    case "udp":
      return 1;
    case "icmp":
      return 2;
    case "icmpv6":
      return 3;
    default:
      return 4;
  }
}

/**
 * Packets neither of whose addresses is local, and the addresses they hold most: where none is
 * local, `--local` does not name the host the capture was made on.
 */
export class Strangers {
  packets = 0;
  readonly #addresses = new Map<string, number>();

  add(src: string, dst: string): void {
    this.packets++;
    for (const address of [src, dst]) {
      // Bounded: a scan of the Internet must not grow it for ever; the most common come early.
      const n = this.#addresses.get(address);
      if (n !== undefined) this.#addresses.set(address, n + 1);
      else if (this.#addresses.size < 4096) this.#addresses.set(address, 1);
    }
  }

  /** The `count` addresses seen most, with their packets. */
  top(count: number): [address: string, packets: number][] {
    return [...this.#addresses].sort((a, b) => b[1] - a[1]).slice(0, count);
  }
}

/** How a round keeps its packets (see {@linkcode RoundTraffic}). */
export interface RoundTrafficOptions {
  maxPackets: number;
  payloadBytes: number;
}

/** Everything a round's traffic comes to, as it is stored: what the capture loop hands over. */
export interface RoundTrafficResult {
  seen: number;
  counts: TrafficRow[];
  flows: { rows: FlowRow[]; over: number };
  attempts: ConnectionAttempts;
  dns: DnsSummary;
  packets: PacketRow[];
}

/** A round without traffic: no capture. */
export function noTraffic(): RoundTrafficResult {
  return new RoundTraffic({ local: new LocalNetworks([]), maxPackets: 0, payloadBytes: 0 })
    .result();
}

/** Accumulates one round's packets. */
export class RoundTraffic {
  /** IP packets added. */
  seen = 0;
  #dnsPackets = 0;
  #dnsNameMax = 0;
  #dnsNameTotal = 0;
  readonly #local: LocalNetworks;
  readonly #maxPackets: number;
  readonly #payloadBytes: number;
  readonly #tallies = new Map<number, Tally>();
  readonly #dnsRows: PacketRow[] = [];
  readonly #otherRows: PacketRow[] = [];
  readonly #attempts = new ConnectionAttemptTally();
  readonly #flows = new FlowTally();
  // Server (address:port) → DNS packets exchanged with it.
  readonly #dnsServers = new Map<string, number>();

  readonly #strangers?: Strangers;

  /** `strangers`, if given, counts the packets with no local address, across rounds. */
  constructor(options: RoundTrafficOptions & { local: LocalNetworks; strangers?: Strangers }) {
    this.#local = options.local;
    this.#strangers = options.strangers;
    this.#maxPackets = options.maxPackets;
    this.#payloadBytes = options.payloadBytes;
  }

  /** Counts a packet and keeps its row while there is room. */
  add(packet: DecodedPacket): void {
    this.seen++;
    const srcLocal = this.#local.has(packet.src);
    const dstLocal = this.#local.has(packet.dst);
    if (!srcLocal && !dstLocal) this.#strangers?.add(packet.src, packet.dst);
    this.#flows.add(packet, srcLocal, dstLocal);
    if (srcLocal) this.#count(packet, packet.srcPort, "out", packet.dst, packet.dstPort);
    if (dstLocal || !srcLocal) {
      this.#count(packet, packet.dstPort, "in", packet.src, packet.srcPort);
    }
    if (packet.tcpFlags !== null && (packet.tcpFlags & TCP_SYN) !== 0 && packet.dstPort !== null) {
      if ((packet.tcpFlags & TCP_ACK) === 0) {
        // An attempt: either way it is the destination port that was reached for.
        if (srcLocal) this.#attempts.addOut(packet.dst, packet.dstPort, packet.srcPort);
        if (dstLocal || !srcLocal) this.#attempts.addIn(packet.src, packet.dstPort);
      } else if (srcLocal) {
        // A SYN-ACK: the source port accepted a connection.
        this.#tally(packet, packet.srcPort, "out").accepts++;
      }
    }

    const isDns = packet.dnsQueryName !== null || packet.dnsResponseName !== null;
    if (packet.dnsQueryName !== null) {
      // Long, many names are what DNS tunnels look like; the model reads these per round.
      this.#dnsPackets++;
      this.#dnsNameTotal += packet.dnsQueryName.length;
      this.#dnsNameMax = Math.max(this.#dnsNameMax, packet.dnsQueryName.length);
      const serverIsSource = packet.srcPort === 53 || packet.srcPort === 5353;
      const server = serverIsSource
        ? `${packet.src}:${packet.srcPort}`
        : `${packet.dst}:${packet.dstPort}`;
      if (this.#dnsServers.size < 1024 || this.#dnsServers.has(server)) {
        this.#dnsServers.set(server, (this.#dnsServers.get(server) ?? 0) + 1);
      }
    }
    const rows = isDns ? this.#dnsRows : this.#otherRows;
    if (rows.length >= this.#maxPackets) return;
    const out = srcLocal && !dstLocal;
    rows.push({
      timestamp: Math.floor(packet.tsMs),
      protocols: packet.protocols,
      qryName: packet.dnsQueryName,
      respName: packet.dnsResponseName,
      port: out ? packet.srcPort : packet.dstPort,
      remotePort: out ? packet.dstPort : packet.srcPort,
      direction: srcLocal && dstLocal ? "local" : out ? "out" : "in",
      family: packet.family,
      remoteAddr: out ? packet.dst : packet.src,
      length: packet.length,
      // Copied: the packet's payload is a view into a frame buffer that is reused.
      payload: this.#payloadBytes > 0 ? packet.payload.slice(0, this.#payloadBytes) : null,
    });
  }

  /**
   * DNS packets with a query name (queries and responses, stored or not), and the longest and
   * mean name length in characters.
   */
  dns(): DnsSummary {
    const queries = this.#dnsPackets;
    let server: string | null = null;
    let most = 0;
    for (const [address, packets] of this.#dnsServers) {
      if (packets > most) [server, most] = [address, packets];
    }
    return {
      queries,
      maxNameLength: this.#dnsNameMax,
      meanNameLength: queries ? this.#dnsNameTotal / queries : 0,
      server,
    };
  }

  /**
   * The connection attempts (SYN without ACK) so far, each way, and who made the most: a port
   * scan reaches hundreds of ports of one address in seconds, whatever ports it comes from; a
   * worm one port of hundreds of addresses; a brute force one port of one address, again and
   * again. An attempt is answered when its address sent back anything in the round.
   */
  attempts(): ConnectionAttempts {
    const heardFrom = new Set<string>();
    const spokenTo = new Set<string>();
    for (const tally of this.#tallies.values()) {
      const peers = tally.direction === "in" ? heardFrom : spokenTo;
      for (const peer of tally.peers) peers.add(peer);
    }
    return this.#attempts.figures(heardFrom, spokenTo);
  }

  /** The counts so far, one per local port, transport and direction. */
  counts(): TrafficRow[] {
    return [...this.#tallies.values()].map((t) => ({
      port: t.port,
      protocol: t.protocol,
      direction: t.direction,
      packets: t.packets,
      bytes: t.bytes,
      peers: t.peers.size,
      remotePorts: t.remotePorts.size,
      ...(t.protocol === "tcp" && t.direction === "out" ? { accepts: t.accepts } : {}),
    }));
  }

  /** All of it, for storing. */
  result(): RoundTrafficResult {
    return {
      seen: this.seen,
      counts: this.counts(),
      flows: { rows: this.#flows.rows(), over: this.#flows.over },
      attempts: this.attempts(),
      dns: this.dns(),
      packets: this.packetRows(),
    };
  }

  /** The rows to store: DNS packets first, then others, at most `maxPackets`, in time order. */
  packetRows(): PacketRow[] {
    const dns = this.#dnsRows.slice(0, this.#maxPackets);
    const rows = [...dns, ...this.#otherRows.slice(0, this.#maxPackets - dns.length)];
    return rows.sort((a, b) => a.timestamp - b.timestamp);
  }

  /** The tally of a local port, transport and direction, made on first use. */
  #tally(packet: DecodedPacket, port: number | null, direction: Direction): Tally {
    const key = (port ?? NO_PORT) * 16 + transportIndex(packet.transport) * 2 +
      (direction === "in" ? 0 : 1);
    let tally = this.#tallies.get(key);
    if (!tally) {
      tally = {
        port,
        protocol: packet.transport,
        direction,
        packets: 0,
        bytes: 0,
        accepts: 0,
        peers: new Set(),
        remotePorts: new Set(),
        lastPeer: null,
        lastRemotePort: null,
      };
      this.#tallies.set(key, tally);
    }
    return tally;
  }

  #count(
    packet: DecodedPacket,
    port: number | null,
    direction: Direction,
    remote: string,
    remotePort: number | null,
  ): void {
    const tally = this.#tally(packet, port, direction);
    tally.packets++;
    tally.bytes += packet.length;
    // The last one added is in the set already (adding it again would change nothing).
    if (remote !== tally.lastPeer && tally.peers.size < DISTINCT_LIMIT) {
      tally.peers.add(remote);
      tally.lastPeer = remote;
    }
    if (
      remotePort !== null && remotePort !== tally.lastRemotePort &&
      tally.remotePorts.size < DISTINCT_LIMIT
    ) {
      tally.remotePorts.add(remotePort);
      tally.lastRemotePort = remotePort;
    }
  }
}
