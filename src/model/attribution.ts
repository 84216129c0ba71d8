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
 *   largest number of remote ports (the ports that have it), connection attempts' spread (out:
 *   the local port the attempts came from; in: the TCP ports with traffic in, equally), portless
 *   packets (ICMP and the like, as port `null`), DNS figures (port 53).
 *
 * A port's error is the sum of its shares; ports are ranked by it, then by number. What cannot be
 * named from the round itself is not attributed: a listener that disappeared leaves an error in
 * its bin but no port in the round.
 *
 * @module
 */

import {
  CHANNEL_SPECS,
  type ChannelSpec,
  type FeatureLayout,
  featureLayout,
  GLOBAL_SPECS,
  type GlobalParts,
  portBin,
  type TrafficMeasure,
  type TrafficWeight,
} from "./feature_layout.ts";
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

  const c = CHANNEL_SPECS.length;
  for (let bin = 0; bin < layout.bins; bin++) {
    for (let k = 0; k < c; k++) {
      const error = errors[bin * c + k]!;
      if (error >= cut) {
        share(error, binParts(CHANNEL_SPECS[k]!, occupied.get(bin) ?? [], traffic.get(bin) ?? []));
      }
    }
  }
  GLOBAL_SPECS.forEach((spec, k) => {
    const error = errors[layout.binFeatures + k]!;
    if (error >= cut) share(error, roundParts(spec.parts, round));
  });

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

interface Part {
  port: number | null;
  protocol: TrafficProtocol;
  weight: number;
}

/** The ports a per-round figure counts, with their weights. */
function roundParts(parts: GlobalParts, round: RoundData): Part[] {
  if (parts === null) return [];
  if ("occupied" in parts) {
    const which = parts.occupied;
    const test = which === "listening"
      ? (o: OccupiedPort) => o.listening !== false
      : which === "ephemeral"
      ? (o: OccupiedPort) => isEphemeral(o.port)
      : (o: OccupiedPort) => o.protocol === which;
    return unique(
      round.occupied.filter(test).map((o) => ({ port: o.port, protocol: o.protocol, weight: 1 })),
    );
  }
  if ("portless" in parts) {
    return round.traffic.filter((t) => !hasPort(t) && t.direction === parts.portless)
      .map((t) => ({ port: null, protocol: t.protocol, weight: Math.max(0, t.packets) }));
  }
  if ("attempts" in parts) {
    // An outbound scan comes from one local port the round names; an inbound one reaches
    // many, which the round does not list: the TCP ports with traffic that way share it.
    const from = round.attempts.fromPortOut;
    if (parts.attempts === "out" && from !== null) {
      return [{ port: from, protocol: "tcp", weight: 1 }];
    }
    return weighed(
      round.traffic.filter((t) =>
        hasPort(t) && t.direction === parts.attempts && t.protocol === "tcp"
      ),
      (t) => (t.packets > 0 ? 1 : 0),
    );
  }
  if ("attemptsPort" in parts) {
    // The local port the most attempts reached (in), or the one this host's came from (out).
    const port = parts.attemptsPort === "in"
      ? round.attempts.attemptsPortIn
      : round.attempts.fromPortOut;
    return port === null ? [] : [{ port, protocol: "tcp", weight: 1 }];
  }
  if ("dns" in parts) {
    return weighed(
      round.traffic.filter((t) => t.port === 53 && t.protocol === "udp"),
      (t) => t.packets,
    );
  }
  const rows = round.traffic.filter((t) => hasPort(t) && t.direction === parts.traffic);
  return weighed(
    parts.protocol === undefined ? rows : rows.filter((t) => t.protocol === parts.protocol),
    trafficWeight(parts.weight, rows),
  );
}

/** How a traffic row weighs in a per-round figure; `rows` are the figure's direction's. */
function trafficWeight(weight: TrafficWeight, rows: TrafficRow[]): (t: TrafficRow) => number {
  switch (weight) {
    case "packets":
      return (t) => t.packets;
    case "bytes":
      return (t) => t.bytes;
    case "present":
      return (t) => (t.packets > 0 ? 1 : 0);
    case "widest_remote_ports": {
      const most = Math.max(0, ...rows.map((t) => t.remotePorts));
      return (t) => (t.remotePorts === most ? 1 : 0);
    }
  }
}

/** The ports of a bin behind one of its channels, with their weights. */
function binParts(channel: ChannelSpec, occupied: OccupiedPort[], traffic: TrafficRow[]): Part[] {
  if (channel.source === "occupied") {
    return unique(
      occupied.filter((o) =>
        o.protocol === channel.protocol && (o.listening !== false) === channel.listening
      ).map((o) => ({ port: o.port, protocol: channel.protocol, weight: 1 })),
    );
  }
  const rows = traffic.filter((t) =>
    t.direction === channel.direction &&
    (channel.protocol === undefined || t.protocol === channel.protocol)
  );
  return weighed(rows, measureOf(channel.measure));
}

/** How a traffic row weighs in a bin's traffic channel. */
function measureOf(measure: TrafficMeasure): (t: TrafficRow) => number {
  switch (measure) {
    case "ports":
      return (t) => (t.packets > 0 ? 1 : 0);
    case "packets":
      return (t) => t.packets;
    case "bytes":
      return (t) => t.bytes;
    case "peers":
      return (t) => t.peers;
    case "remotePorts":
      return (t) => t.remotePorts;
  }
}

function weighed(rows: TrafficRow[], weight: (t: TrafficRow) => number): Part[] {
  return rows.map((t) => ({ port: t.port, protocol: t.protocol, weight: Math.max(0, weight(t)) }));
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
