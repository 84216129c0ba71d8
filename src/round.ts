/**
 * The round's vocabulary: what one minute of the host is made of. The producers (probes and
 * capture) write these, the store keeps them, the model reads them, and the report shows them;
 * this module imports nothing of pad's, so every other part can import it.
 *
 * @module
 */

/** A transport whose local ports the probes examine. */
export type Protocol = "tcp" | "udp";

/** An IP version: 4 for IPv4, 6 for IPv6. */
export type Family = 4 | 6;

/** Protocol of a traffic row; ICMP and the like carry no port. */
export type TrafficProtocol = "tcp" | "udp" | "icmp" | "icmpv6" | "other";

/** Which way traffic went, seen from this host. */
export type Direction = "in" | "out";

/** The probes pad ships; `--probe` takes one of these names and `rounds.probe` keeps it. */
export type ProbeName = "listen" | "procfs";

/** Names `--probe` accepts. */
export const PROBE_NAMES: readonly ProbeName[] = ["listen", "procfs"];

/** The lowest port a sweep covers. */
export const PORT_MIN = 1;

/** The highest port a sweep covers (the original never probed it). */
export const PORT_MAX = 65_535;

/** Port numbers 0–65535. */
export const PORT_COUNT = 65_536;

/** Linux's default ephemeral range (`net.ipv4.ip_local_port_range`): clients' ports. */
export const EPHEMERAL_FIRST = 32_768;
export const EPHEMERAL_LAST = 60_999;

/**
 * The latest time a round can hold: the end of year 9999, the last that ISO 8601's four-digit
 * years write. A capture stamped later (a damaged or fuzzed file) is not stored.
 */
export const LATEST_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Whether a round can hold `ms` (milliseconds since the epoch): from 1970 to the year 9999. */
export function isStorableTime(ms: number): boolean {
  return Number.isFinite(ms) && ms >= 0 && ms <= LATEST_TIME;
}

/** Whether `port` lies in the ephemeral range, where an occupied port is rarely a service. */
export function isEphemeral(port: number): boolean {
  return port >= EPHEMERAL_FIRST && port <= EPHEMERAL_LAST;
}

/**
 * True for the socket states that mean "serving": TCP `LISTEN`, UDP `UNCONN` (unconnected), as
 * the procfs probe names them and `rounds_ports.socket_state` keeps them.
 */
export function isListeningState(protocol: Protocol, state: string | null | undefined): boolean {
  return state === (protocol === "tcp" ? "LISTEN" : "UNCONN");
}

/** A local port held by at least one socket: one per (port, protocol, family) and round. */
export interface OccupiedPort {
  port: number;
  protocol: Protocol;
  family: Family;
  /**
   * `true` for a listener (procfs LISTEN, or UNCONN for UDP), `false` for any other socket state
   * (an established connection, a client's ephemeral port), `null` when the probe cannot tell
   * (the listen probe only learns that a bind failed).
   */
  listening: boolean | null;
  /** procfs: the local address of the chosen socket (`0.0.0.0`, `::`, `::ffff:127.0.0.1`). */
  address?: string;
  /** procfs: the chosen socket's state: `LISTEN`, `ESTABLISHED`, `UNCONN`, ... */
  socketState?: string;
  /** procfs: the owner of the socket, where `/proc/<pid>/fd` could be read. */
  pid?: number | null;
  /** procfs: `/proc/<pid>/comm` of {@linkcode OccupiedPort.pid}. */
  command?: string | null;
  /** procfs: every process holding one of the merged sockets, sorted; only when more than one. */
  pids?: number[];
  /** procfs: the uid that owns the chosen socket, known even when its process is not readable. */
  uid?: number;
}

/** How many ports of one protocol and family could not be probed (never counted as occupied). */
export interface UnknownPorts {
  protocol: Protocol;
  family: Family;
  ports: number;
}

/** What one sweep of the ports saw, as a round stores it. */
export interface Sweep {
  /** Wall clock at the start, in ms since the epoch. */
  startedMs: number;
  durationMs: number;
  /** Sorted by protocol, family, port. */
  occupied: OccupiedPort[];
  /** One entry per protocol and family with at least one port that could not be probed. */
  unknown: UnknownPorts[];
}

/** Traffic of one local port, transport and direction in a round (a row of `round_traffic`). */
export interface TrafficRow {
  /** The local port; `null` for portless traffic (ICMP and the like). */
  port: number | null;
  protocol: TrafficProtocol;
  direction: Direction;
  packets: number;
  bytes: number;
  /** Distinct remote addresses. */
  peers: number;
  /** Distinct remote ports. */
  remotePorts: number;
  /**
   * TCP connections this port accepted (SYN-ACKs it sent, direction out): a listener seen in
   * traffic, even one no sweep caught. Absent where not measured.
   */
  accepts?: number;
}

/** DNS figures of a round, from all its DNS packets with a query name (stored or not). */
export interface DnsSummary {
  queries: number;
  maxNameLength: number;
  meanNameLength: number;
  /** The server most of them went to or came from, as `address:port`; absent if unknown. */
  server?: string | null;
}

/**
 * A round's TCP connection attempts (SYN without ACK), each way, and who made the most: what
 * tells a port scan, a horizontal scan, a brute force and a flood apart, and names them. Counts
 * are 0, and who is null, where none were seen (or capture was off).
 */
export interface ConnectionAttempts {
  /** The most distinct ports of this host one remote address tried, and that address. */
  portsPerPeerIn: number;
  peerIn: string | null;
  /**
   * The most distinct ports of one remote address this host tried, that address, and the local
   * port most of this host's attempts came from (a scanner's).
   */
  portsPerPeerOut: number;
  peerOut: string | null;
  fromPortOut: number | null;
  /** Distinct remote addresses that tried this host, and how many it never answered. */
  peersIn: number;
  unansweredIn: number;
  /** Distinct remote addresses this host tried, and how many never answered. */
  peersOut: number;
  unansweredOut: number;
  /** The most addresses this host tried on one remote port, and that port (a worm's). */
  peersPerRemotePortOut: number;
  remotePortOut: number | null;
  /** The most attempts from one remote address at one port of this host: count, who, where. */
  attemptsPerPeerPortIn: number;
  attemptsPeerIn: string | null;
  attemptsPortIn: number | null;
  /** The most attempts from this host at one remote address and port. */
  attemptsPerPeerPortOut: number;
  attemptsPeerOut: string | null;
  attemptsPortOut: number | null;
}

/** A round without connection attempts (or whose attempts were not measured). */
export const NO_ATTEMPTS: Readonly<ConnectionAttempts> = Object.freeze({
  portsPerPeerIn: 0,
  peerIn: null,
  portsPerPeerOut: 0,
  peerOut: null,
  fromPortOut: null,
  peersIn: 0,
  unansweredIn: 0,
  peersOut: 0,
  unansweredOut: 0,
  peersPerRemotePortOut: 0,
  remotePortOut: null,
  attemptsPerPeerPortIn: 0,
  attemptsPeerIn: null,
  attemptsPortIn: null,
  attemptsPerPeerPortOut: 0,
  attemptsPeerOut: null,
  attemptsPortOut: null,
});

/** One row of the packets table. */
export interface PacketRow {
  timestamp: number;
  protocols: string;
  qryName: string | null;
  respName: string | null;
  /** The local port (null for ICMP and the like). */
  port: number | null;
  remotePort: number | null;
  /** `local` for a packet between two of this host's addresses. */
  direction: Direction | "local";
  family: Family;
  remoteAddr: string;
  length: number;
  payload: Uint8Array | null;
}

/** One connection's traffic in one round (see capture/flows.ts). */
export interface FlowRow {
  protocol: "tcp" | "udp" | "icmp" | "icmpv6" | "other";
  family: Family;
  /** This host's end (for loopback, the end that started the flow). */
  localAddr: string;
  /** The local port (null for ICMP and the like). */
  port: number | null;
  remoteAddr: string;
  remotePort: number | null;
  /** Who started it: `out` this host, `in` the remote end, `local` both ends are this host's. */
  direction: Direction | "local";
  /** First and last packet, ms since the epoch (fractional). */
  firstSeen: number;
  lastSeen: number;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** TCP flags seen either way, ORed; null for other transports. */
  tcpFlags: number | null;
  state: "unanswered" | "reset" | "closed" | "open" | null;
  /** DNS flows: the first query name and the first answer name. */
  dnsQuery: string | null;
  dnsAnswer: string | null;
}

/** Everything the model learns from about one complete round. */
export interface RoundData {
  id: number;
  /** Milliseconds since the Unix epoch. */
  startTime: number;
  /** When it ended; absent where only the start is known (a round a minute long). */
  endTime?: number;
  occupied: OccupiedPort[];
  traffic: TrafficRow[];
  dns: DnsSummary;
  attempts: ConnectionAttempts;
  /** `false` when capture was off: traffic is then unknown, not zero, and is never scored. */
  captured: boolean;
  /**
   * The share of the round's time its capture covered, where it was not all of it: an imported
   * capture's first and last rounds. Absent: the whole round.
   */
  coverage?: number;
}

/** Rounds whose capture covered less than this share are not judged by the model. */
export const MIN_COVERAGE = 0.9;
