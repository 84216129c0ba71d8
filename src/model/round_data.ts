/**
 * One round as the model reads it: what `pad collect` stored about a minute of the host, already
 * out of SQLite. The model never touches the database; `pad detect` builds these.
 *
 * @module
 */

/** Transport of an occupied port. */
export type PortProtocol = "tcp" | "udp";

/** Protocol of a traffic row; ICMP and the like carry no port. */
export type TrafficProtocol = "tcp" | "udp" | "icmp" | "icmpv6" | "other";

/** A port seen occupied in the round (one row of `rounds_ports`). */
export interface OccupiedPort {
  port: number;
  protocol: PortProtocol;
  family: 4 | 6;
  /**
   * `true` for a listener (procfs LISTEN, or UNCONN for UDP), `false` for any other socket state
   * (an established connection, a client's ephemeral port), `null` when the probe cannot tell
   * (the listen probe only learns that a bind failed).
   */
  listening: boolean | null;
  /** Owning process, where the procfs probe could read it. */
  pid?: number | null;
  command?: string | null;
}

/** Traffic of one local port, transport and direction in the round (one row of `round_traffic`). */
export interface TrafficRow {
  /** The local port; `null` for portless traffic (ICMP and the like). */
  port: number | null;
  protocol: TrafficProtocol;
  direction: "in" | "out";
  packets: number;
  bytes: number;
  /** Distinct remote addresses. */
  peers: number;
  /** Distinct remote ports. */
  remotePorts: number;
}

/** DNS figures of the round, from all its DNS packets. */
export interface DnsSummary {
  queries: number;
  maxNameLength: number;
  meanNameLength: number;
}

/**
 * How widely one remote address was reached for by TCP connection attempts (SYN without ACK):
 * the most distinct ports of this host one remote address tried (`in`), and the most distinct
 * ports of one remote address this host tried (`out`). 0 where it was not measured.
 */
export interface SynSpread {
  in: number;
  out: number;
}

/** Everything the model learns from about one round. */
export interface RoundData {
  id: number;
  /** Milliseconds since the Unix epoch. */
  startTime: number;
  occupied: OccupiedPort[];
  traffic: TrafficRow[];
  dns: DnsSummary;
  synSpread: SynSpread;
  /** `false` when capture was off: traffic is then unknown, not zero, and is never scored. */
  captured: boolean;
}
