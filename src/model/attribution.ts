/**
 * Attribution: which ports of a round its reconstruction error points at.
 *
 * Only the features that make the score are followed: those whose error is at least
 * `relevance` (default a tenth) of the round's largest, so the ordinary noise of busy ports does
 * not bury the culprit. Each such feature's error is shared among the concrete ports of the
 * round that make it up:
 *
 * - a bin's listener channel among the bin's listeners of that protocol, its "other" channel
 *   among its other occupied ports, a traffic channel among the bin's ports with traffic in that
 *   direction (packets by each port's packets, bytes by its bytes, peers and remote ports by each
 *   port's count, the ports channel equally);
 * - a total among the ports it counts: occupied TCP or UDP ports, listeners, occupied ephemeral
 *   ports, ports with traffic in or out (equally), packets and bytes (by each port's), the
 *   largest number of remote ports (the ports that have it), connection attempts' spread (the
 *   TCP ports with traffic that way, equally: the round keeps no per-address figures), portless
 *   packets (ICMP and the like, as port `null`), DNS figures (port 53).
 *
 * A port's error is the sum of its shares; ports are ranked by it, then by number. What cannot be
 * named from the round itself is not attributed: a listener that disappeared leaves an error in
 * its bin but no port in the round.
 *
 * @module
 */

import {
  type Channel,
  CHANNELS,
  type FeatureLayout,
  featureLayout,
  type Global,
  GLOBALS,
  portBin,
} from "./features.ts";
import {
  isEphemeral,
  type OccupiedPort,
  type RoundData,
  type TrafficProtocol,
  type TrafficRow,
} from "../round.ts";

/** One port's part in a round's error. */
export interface PortContribution {
  /** The local port; `null` for portless traffic (ICMP and the like). */
  port: number | null;
  protocol: TrafficProtocol;
  /** The standardized error attributed to this port. */
  error: number;
  /** `error` as a share of the error of the features followed (0–1). */
  share: number;
  /** The owning process, where the probe knew it. */
  pid?: number | null;
  command?: string | null;
}

/** Options of {@linkcode attribute}. */
export interface AttributionOptions {
  /** Ports returned at most (default 10). */
  limit?: number;
  /** Features followed: error at least this share of the round's largest (default 0.1). */
  relevance?: number;
}

/**
 * The ports of `round` ranked by the error they explain, worst first. `errors` are the round's
 * per-feature errors as {@linkcode Detector.score} returns them; `layout` the encoding they come
 * from; `options` a number is the limit.
 */
export function attribute(
  errors: ArrayLike<number>,
  round: RoundData,
  layout: FeatureLayout = featureLayout(),
  options: AttributionOptions | number = {},
): PortContribution[] {
  const { limit = 10, relevance = 0.1 } = typeof options === "number"
    ? { limit: options }
    : options;
  if (errors.length !== layout.length) {
    throw new RangeError(
      `Errors have ${errors.length} features; the encoding ${layout.id} has ${layout.length}`,
    );
  }
  let largest = 0;
  for (let f = 0; f < layout.length; f++) largest = Math.max(largest, errors[f]!);
  if (!(largest > 0)) return [];
  const cut = relevance * largest;

  const occupied = new Map<number, OccupiedPort[]>();
  const traffic = new Map<number, TrafficRow[]>();
  for (const o of round.occupied) push(occupied, portBin(layout, o.port), o);
  for (const t of round.traffic) {
    if (hasPort(t)) push(traffic, portBin(layout, t.port!), t);
  }

  const sums = new Map<string, { port: number | null; protocol: TrafficProtocol; error: number }>();
  let followed = 0;
  const share = (error: number, parts: Part[]) => {
    const weight = parts.reduce((a, p) => a + p.weight, 0);
    if (!(weight > 0)) return;
    followed += error;
    for (const p of parts) {
      const key = `${p.protocol}:${p.port}`;
      const entry = sums.get(key);
      const part = (error * p.weight) / weight;
      if (entry) entry.error += part;
      else sums.set(key, { port: p.port, protocol: p.protocol, error: part });
    }
  };

  const c = CHANNELS.length;
  for (let bin = 0; bin < layout.bins; bin++) {
    for (let k = 0; k < c; k++) {
      const error = errors[bin * c + k]!;
      if (error >= cut) {
        share(error, contributors(CHANNELS[k]!, occupied.get(bin) ?? [], traffic.get(bin) ?? []));
      }
    }
  }
  for (const [k, name] of GLOBALS.entries()) {
    const error = errors[layout.binFeatures + k]!;
    if (error >= cut) share(error, totalContributors(name, round));
  }

  const owners = new Map<string, OccupiedPort>();
  for (const o of round.occupied) {
    const key = `${o.protocol}:${o.port}`;
    const known = owners.get(key);
    if (!known || (known.pid == null && o.pid != null)) owners.set(key, o);
  }
  return [...sums.values()]
    .sort((a, b) => b.error - a.error || (a.port ?? -1) - (b.port ?? -1))
    .slice(0, limit)
    .map((s) => {
      const owner = owners.get(`${s.protocol}:${s.port}`);
      return {
        port: s.port,
        protocol: s.protocol,
        error: s.error,
        share: s.error / followed,
        pid: owner?.pid ?? null,
        command: owner?.command ?? null,
      };
    });
}

function hasPort(t: TrafficRow): boolean {
  return (t.protocol === "tcp" || t.protocol === "udp") && t.port !== null;
}

/** The ports a per-round total counts, with their weights. */
function totalContributors(name: Global, round: RoundData): Part[] {
  const ports = (test: (o: OccupiedPort) => boolean) =>
    unique(
      round.occupied.filter(test).map((o) => ({ port: o.port, protocol: o.protocol, weight: 1 })),
    );
  const rows = (direction: "in" | "out", protocol?: "tcp" | "udp") =>
    round.traffic.filter((t) =>
      hasPort(t) && t.direction === direction && (protocol === undefined || t.protocol === protocol)
    );
  const by = (list: TrafficRow[], weight: (t: TrafficRow) => number) =>
    list.map((t) => ({ port: t.port, protocol: t.protocol, weight: Math.max(0, weight(t)) }));
  const widest = (direction: "in" | "out") => {
    const list = rows(direction);
    const most = Math.max(0, ...list.map((t) => t.remotePorts));
    return by(list, (t) => (t.remotePorts === most ? 1 : 0));
  };
  const portless = (direction: "in" | "out") =>
    round.traffic.filter((t) => !hasPort(t) && t.direction === direction)
      .map((t) => ({ port: null, protocol: t.protocol, weight: Math.max(0, t.packets) }));
  switch (name) {
    case "tcp_occupied":
      return ports((o) => o.protocol === "tcp");
    case "udp_occupied":
      return ports((o) => o.protocol === "udp");
    case "listeners":
      return ports((o) => o.listening !== false);
    case "ephemeral_occupied":
      return ports((o) => isEphemeral(o.port));
    case "tcp_packets_in":
      return by(rows("in", "tcp"), (t) => t.packets);
    case "tcp_packets_out":
      return by(rows("out", "tcp"), (t) => t.packets);
    case "udp_packets_in":
      return by(rows("in", "udp"), (t) => t.packets);
    case "udp_packets_out":
      return by(rows("out", "udp"), (t) => t.packets);
    case "bytes_in":
      return by(rows("in"), (t) => t.bytes);
    case "bytes_out":
      return by(rows("out"), (t) => t.bytes);
    case "max_remote_ports_in":
      return widest("in");
    case "max_remote_ports_out":
      return widest("out");
    // The round keeps no per-address figures: the TCP ports with traffic that way share it.
    case "syn_ports_per_peer_in":
      return by(rows("in", "tcp"), (t) => (t.packets > 0 ? 1 : 0));
    case "syn_ports_per_peer_out":
      return by(rows("out", "tcp"), (t) => (t.packets > 0 ? 1 : 0));
    case "ports_in":
      return by(rows("in"), (t) => (t.packets > 0 ? 1 : 0));
    case "ports_out":
      return by(rows("out"), (t) => (t.packets > 0 ? 1 : 0));
    case "portless_packets_in":
      return portless("in");
    case "portless_packets_out":
      return portless("out");
    case "dns_queries":
    case "dns_name_max":
    case "dns_name_mean":
      return by(
        round.traffic.filter((t) => t.port === 53 && t.protocol === "udp"),
        (t) => t.packets,
      );
    case "hour_sin":
    case "hour_cos":
    case "captured":
      return [];
  }
}

interface Part {
  port: number | null;
  protocol: TrafficProtocol;
  weight: number;
}

/** The ports of a bin behind one of its channels, with their weights. */
function contributors(channel: Channel, occupied: OccupiedPort[], traffic: TrafficRow[]): Part[] {
  const occupiedBy = (protocol: "tcp" | "udp", listening: boolean) =>
    unique(
      occupied.filter((o) => o.protocol === protocol && (o.listening !== false) === listening)
        .map((o) => ({ port: o.port, protocol, weight: 1 })),
    );
  const rows = (direction: "in" | "out", protocol?: "tcp" | "udp") =>
    traffic.filter((t) =>
      t.direction === direction && (protocol === undefined || t.protocol === protocol)
    );
  const by = (list: TrafficRow[], weight: (t: TrafficRow) => number) =>
    list.map((t) => ({ port: t.port, protocol: t.protocol, weight: Math.max(0, weight(t)) }));
  switch (channel) {
    case "tcp_listen":
      return occupiedBy("tcp", true);
    case "udp_listen":
      return occupiedBy("udp", true);
    case "tcp_other":
      return occupiedBy("tcp", false);
    case "udp_other":
      return occupiedBy("udp", false);
    case "in_ports":
      return by(rows("in"), (t) => (t.packets > 0 ? 1 : 0));
    case "out_ports":
      return by(rows("out"), (t) => (t.packets > 0 ? 1 : 0));
    case "tcp_in_packets":
      return by(rows("in", "tcp"), (t) => t.packets);
    case "tcp_out_packets":
      return by(rows("out", "tcp"), (t) => t.packets);
    case "udp_in_packets":
      return by(rows("in", "udp"), (t) => t.packets);
    case "udp_out_packets":
      return by(rows("out", "udp"), (t) => t.packets);
    case "in_bytes":
      return by(rows("in"), (t) => t.bytes);
    case "out_bytes":
      return by(rows("out"), (t) => t.bytes);
    case "in_peers":
      return by(rows("in"), (t) => t.peers);
    case "out_peers":
      return by(rows("out"), (t) => t.peers);
    case "in_remote_ports":
      return by(rows("in"), (t) => t.remotePorts);
    case "out_remote_ports":
      return by(rows("out"), (t) => t.remotePorts);
  }
}

/** One part per (port, protocol): the probes may report a port once per address family. */
function unique(parts: Part[]): Part[] {
  const seen = new Set<string>();
  return parts.filter((p) => {
    const key = `${p.protocol}:${p.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
