/**
 * Causes in words: what a flagged round's measurements say happened, in one line a tired
 * sysadmin understands ("outbound TCP SYN scan: 614 ports of 198.51.100.7 from tcp/51406"),
 * with a key that rounds of the same cause share (so they join one incident), and the ports
 * and remote addresses behind it.
 *
 * The model says *which* features are surprising (each feature's standardized error); the
 * features are grouped by the kind of cause they point at, the kind with the most error wins,
 * and the round's own figures (who tried how many ports, which port flooded) fill in the words.
 * A new listener, which the rule sees whatever the score, comes first when both apply.
 *
 * @module
 */
import type { Channel, FeatureLayout, Global } from "../model/feature_layout.ts";
import { describeFeature } from "../model/feature_layout.ts";
import { count } from "../number_text.ts";
import type { RoundData, TrafficRow } from "../round.ts";
import type { AnomalyPort } from "../store/detections.ts";
import type { IncidentCause, IncidentKind, IncidentPort } from "../store/incidents.ts";
import { LOGIN_PORTS, loginAttemptLimit, RULE_LIMITS, type RuleHit } from "./rules.ts";

type CauseKind = IncidentKind;

/** The cause each channel of a bin points at when it is surprising. */
const CHANNEL_CAUSE: Record<Channel, CauseKind> = {
  tcp_listen: "listener",
  udp_listen: "listener",
  tcp_other: "ports",
  udp_other: "ports",
  in_ports: "traffic",
  out_ports: "traffic",
  tcp_in_packets: "traffic",
  tcp_out_packets: "traffic",
  udp_in_packets: "traffic",
  udp_out_packets: "traffic",
  in_bytes: "traffic",
  out_bytes: "traffic",
  in_peers: "flood",
  out_peers: "horizontal scan",
  in_remote_ports: "flood",
  out_remote_ports: "outbound scan",
};

/** The cause each per-round figure points at (null: context, never a cause). */
const GLOBAL_CAUSE: Record<Global, CauseKind | null> = {
  tcp_occupied: "ports",
  udp_occupied: "ports",
  listeners: "listener",
  ephemeral_occupied: "ports",
  tcp_packets_in: "traffic",
  tcp_packets_out: "traffic",
  udp_packets_in: "traffic",
  udp_packets_out: "traffic",
  bytes_in: "traffic",
  bytes_out: "traffic",
  max_remote_ports_in: "flood",
  max_remote_ports_out: "outbound scan",
  syn_ports_per_peer_in: "inbound scan",
  syn_ports_per_peer_out: "outbound scan",
  syn_peers_in: "flood",
  syn_peers_out: "horizontal scan",
  syn_peers_per_remote_port_out: "horizontal scan",
  syn_attempts_per_peer_port_in: "brute force",
  syn_attempts_per_peer_port_out: "brute force",
  ports_in: "traffic",
  ports_out: "traffic",
  portless_packets_in: "icmp",
  portless_packets_out: "icmp",
  dns_queries: "dns",
  dns_name_max: "dns",
  dns_name_mean: "dns",
  hour_sin: null,
  hour_cos: null,
  captured: null,
};

/** Features followed: error at least this share of the round's largest (as attribution does). */
const RELEVANCE = 0.1;

/** What a flagged round holds, for its cause. */
export interface FlaggedRound {
  round: RoundData;
  /** Each feature's standardized error (null for a round the model did not score). */
  errors: Float32Array | null;
  /** The ports attribution ranks behind the error, worst first. */
  ports: AnomalyPort[];
  /** Listeners on ports that never had one before (the new-listener rule). */
  newListeners: AnomalyPort[];
  /** The rule the round broke (a scan, a brute force…), if any. */
  rule: RuleHit | null;
  /** How long the round lasted, ms. */
  lengthMs: number;
}

/** The cause of a flagged round, in words. */
export function causeOf(flagged: FlaggedRound, layout: FeatureLayout): IncidentCause {
  const causes = [
    flagged.newListeners.length > 0 ? listenerCause(flagged.newListeners) : null,
    flagged.rule ? describe(flagged.rule.kind, flagged) : null,
    flagged.errors ? scoreCause(flagged, layout) : null,
  ].filter((c) => c !== null);
  const primary = causes[0]!;
  // A new listener explains its own bin's listener error; any other kind is told as well.
  const secondary =
    causes.slice(1).find((c) =>
      c.kind !== primary.kind && !(primary.kind === "new listener" && c.kind === "listener")
    ) ?? null;
  return {
    ...primary,
    summary: secondary ? `${primary.summary}; and ${secondary.summary}` : primary.summary,
    ports: mergePorts(primary.ports, secondary?.ports ?? []),
    peers: [...new Set([...primary.peers, ...(secondary?.peers ?? [])])],
  };
}

/**
 * The kind of cause the surprising features point at most, with its words. A bin's channels of
 * one kind are one piece of evidence (its largest error): one port's packets, bytes, peers and
 * ports in and out all see the same traffic, and six of them must not outweigh the one figure
 * that tells what happened (a burst of DNS queries when a phone joins).
 */
function scoreCause(flagged: FlaggedRound, layout: FeatureLayout): IncidentCause {
  const errors = flagged.errors!;
  let largest = 0;
  for (const e of errors) largest = Math.max(largest, e);
  const evidence = new Map<string, { kind: CauseKind; error: number }>();
  for (let f = 0; f < errors.length; f++) {
    const error = errors[f]!;
    if (!(error >= RELEVANCE * largest) || error <= 0) continue;
    const feature = describeFeature(layout, f);
    const kind = feature.kind === "bin"
      ? CHANNEL_CAUSE[feature.channel]
      : GLOBAL_CAUSE[feature.name];
    if (!kind) continue;
    const where = feature.kind === "bin" ? `${kind} ${feature.bin}` : feature.name;
    const seen = evidence.get(where);
    if (!seen || seen.error < error) evidence.set(where, { kind, error });
  }
  const mass = new Map<CauseKind, number>();
  for (const { kind, error } of evidence.values()) mass.set(kind, (mass.get(kind) ?? 0) + error);
  const [kind] = [...mass].sort((a, b) => b[1] - a[1])[0] ?? ["traffic"];
  return describe(kind, flagged);
}

/** The words for a cause of `kind`, from the round's figures. */
function describe(kind: CauseKind, flagged: FlaggedRound): IncidentCause {
  const { round } = flagged;
  const a = round.attempts;
  const ports = carrying(flagged.ports).map(incidentPort);
  const top = ports[0];
  const cause = (key: string, summary: string, peers: (string | null)[] = []): IncidentCause => ({
    kind,
    key: `${kind} ${key}`,
    summary,
    ports,
    peers: peers.filter((p): p is string => p !== null),
  });
  switch (kind) {
    case "outbound scan":
      if (a.portsPerPeerOut >= 2 && a.peerOut !== null) {
        const from = a.fromPortOut === null ? "" : ` from tcp/${a.fromPortOut}`;
        return cause(
          a.peerOut,
          `outbound TCP SYN scan: ${count(a.portsPerPeerOut)} ports of ${a.peerOut}${from}`,
          [a.peerOut],
        );
      }
      return widest(
        cause,
        round.traffic,
        "out",
        "remotePorts",
        (t) =>
          `outbound ${t.protocol.toUpperCase()} traffic from ${portName(t)} to ` +
          `${count(t.remotePorts)} remote ports of ${plural(t.peers, "address", "addresses")}`,
      );
    case "inbound scan":
      if (a.portsPerPeerIn >= 2 && a.peerIn !== null) {
        return cause(
          a.peerIn,
          `TCP SYN scan of this host: ${count(a.portsPerPeerIn)} ports from ${a.peerIn}`,
          [a.peerIn],
        );
      }
      return widest(
        cause,
        round.traffic,
        "in",
        "remotePorts",
        (t) =>
          `inbound ${t.protocol.toUpperCase()} traffic to ${portName(t)} from ` +
          `${count(t.remotePorts)} remote ports`,
      );
    case "horizontal scan":
      if (a.peersPerRemotePortOut >= 2 && a.remotePortOut !== null) {
        return cause(
          `tcp/${a.remotePortOut}`,
          `outbound scan of ${count(a.peersPerRemotePortOut)} addresses on tcp/` +
            `${a.remotePortOut} (${count(a.unansweredOut)} of ${count(a.peersOut)} tried ` +
            "never answered)",
        );
      }
      return widest(
        cause,
        round.traffic,
        "out",
        "peers",
        (t) => `traffic from ${portName(t)} to ${plural(t.peers, "address", "addresses")}`,
      );
    case "brute force":
    case "flood": {
      // This host hammering one port of another: a brute force it runs (or a worm's).
      if (
        a.attemptsPerPeerPortOut >= 10 && a.attemptsPeerOut !== null &&
        a.attemptsPerPeerPortOut > a.attemptsPerPeerPortIn
      ) {
        const target = `${a.attemptsPeerOut} tcp/${a.attemptsPortOut}`;
        return {
          ...cause(
            target,
            `${count(a.attemptsPerPeerPortOut)} connections from this host to tcp/` +
              `${a.attemptsPortOut} of ${a.attemptsPeerOut} in ${duration(flagged.lengthMs)}`,
            [a.attemptsPeerOut],
          ),
          kind: "brute force",
          key: `brute force out ${target}`,
        };
      }
      // Ten attempts tell a burst; at a login port in a short round, fewer may break the rule.
      const enough = a.attemptsPortIn !== null && LOGIN_PORTS.has(a.attemptsPortIn)
        ? Math.min(10, loginAttemptLimit(flagged.lengthMs))
        : 10;
      if (a.attemptsPerPeerPortIn >= enough && a.attemptsPeerIn !== null) {
        const flooded = round.traffic.find((t) =>
          t.direction === "in" && t.protocol === "tcp" && t.port === a.attemptsPortIn
        );
        // Many attempts from one address: at a login service a brute force, past the flood
        // rule's limit a flood, else a burst of connections; from many addresses, a flood.
        if (!flooded || flooded.peers <= 3) {
          const subject = `${a.attemptsPeerIn} tcp/${a.attemptsPortIn}`;
          const login = LOGIN_PORTS.has(a.attemptsPortIn!);
          const flood = a.attemptsPerPeerPortIn >=
            RULE_LIMITS.attemptsPerPeerPort * Math.max(1, flagged.lengthMs / 60_000);
          const kind = login ? "brute force" : "flood";
          return {
            ...cause(
              subject,
              flood && !login
                ? `SYN flood on tcp/${a.attemptsPortIn} from ${a.attemptsPeerIn}: ` +
                  `${count(a.attemptsPerPeerPortIn)} connection attempts in ` +
                  duration(flagged.lengthMs)
                : `${count(a.attemptsPerPeerPortIn)} connections to tcp/${a.attemptsPortIn} ` +
                  `from ${a.attemptsPeerIn} in ${duration(flagged.lengthMs)}`,
              [a.attemptsPeerIn],
            ),
            kind,
            key: `${kind} ${subject}`,
          };
        }
      }
      return widest(
        cause,
        round.traffic,
        "in",
        "peers",
        (t) =>
          t.protocol === "tcp" && a.peersIn >= t.peers / 2
            ? `SYN flood on ${portName(t)} from ${plural(t.peers, "address", "addresses")}`
            : `${t.protocol.toUpperCase()} flood on ${portName(t)}: ${count(t.packets)} packets ` +
              `from ${plural(t.peers, "address", "addresses")}`,
      );
    }
    case "dns": {
      const d = round.dns;
      const to = d.server ? `, to ${d.server}` : "";
      return cause(
        d.server ?? "",
        d.meanNameLength >= 30
          ? `DNS queries with long names: ${count(d.queries)} queries, mean ` +
            `${Math.round(d.meanNameLength)} characters${to}`
          : `${count(d.queries)} DNS queries in ${duration(flagged.lengthMs)}${to}`,
        [d.server?.replace(/:\d+$/, "") ?? null],
      );
    }
    case "ports": {
      const tcp = new Set(round.occupied.filter((o) => o.protocol === "tcp").map((o) => o.port));
      const udp = new Set(round.occupied.filter((o) => o.protocol === "udp").map((o) => o.port));
      const by = new Map<string, number>();
      for (const o of round.occupied) {
        if (o.command && o.listening === false) by.set(o.command, (by.get(o.command) ?? 0) + 1);
      }
      const [owner, owned] = [...by].sort((x, y) => y[1] - x[1])[0] ?? [null, 0];
      return cause(
        owner ?? "",
        `${count(tcp.size)} TCP and ${count(udp.size)} UDP ports in use at once` +
          (owner ? ` (${count(owned)} of them by ${owner})` : ""),
      );
    }
    case "listener":
      return cause(
        top ? `${top.protocol}/${top.port}` : "",
        top
          ? `unexpected listener on ${top.protocol}/${top.port}${owner(top)}`
          : "the listening ports changed",
      );
    case "icmp": {
      const packets = round.traffic.filter((t) => t.port === null)
        .reduce((n, t) => n + t.packets, 0);
      return cause("", `${count(packets)} ICMP and other portless packets`);
    }
    default: {
      if (!top) return cause("", "unusual traffic");
      const rows = round.traffic.filter((t) => t.protocol === top.protocol && t.port === top.port);
      const packets = (direction: string) =>
        rows.filter((t) => t.direction === direction).reduce((n, t) => n + t.packets, 0);
      const peers = Math.max(0, ...rows.map((t) => t.peers));
      const name = portLabel(top.protocol, top.port);
      return cause(
        name,
        `unusual traffic on ${name}${owner(top)}: ` +
          `${count(packets("in"))} packets in, ${count(packets("out"))} out, ` +
          plural(peers, "address", "addresses"),
      );
    }
  }
}

/** A cause named after the row of `direction` with the most `measure`. */
function widest(
  cause: (key: string, summary: string) => IncidentCause,
  traffic: TrafficRow[],
  direction: "in" | "out",
  measure: "peers" | "remotePorts",
  words: (row: TrafficRow) => string,
): IncidentCause {
  const rows = traffic.filter((t) => t.direction === direction && t.port !== null);
  const row = rows.sort((a, b) => b[measure] - a[measure])[0];
  if (!row) return cause("", `unusual ${direction}bound traffic`);
  return cause(portName(row), words(row));
}

/** The new-listener rule's cause: "new TCP listener on 4445 (ncat, pid 22354)". */
function listenerCause(listeners: AnomalyPort[]): IncidentCause {
  const ports = listeners.map(incidentPort);
  const first = ports[0]!;
  const words = (p: IncidentPort) => `${p.protocol.toUpperCase()} listener on ${p.port}${owner(p)}`;
  return {
    kind: "new listener",
    // The same key as the model's "listener" cause on that port: later rounds that the score
    // flags for the listener join the incident its first round opened.
    key: `listener ${first.protocol}/${first.port}`,
    summary: ports.length === 1
      ? `new ${words(first)}`
      : `new listeners: ${ports.map((p) => `${p.protocol}/${p.port}${owner(p)}`).join(", ")}`,
    ports,
    peers: [],
  };
}

/**
 * The ports that carry the anomaly: attribution lists every port of a surprising bin, most of
 * them with next to no error (a scan's round also names nginx and PostgreSQL at 0.0); an
 * incident names those with at least a tenth of the worst one's.
 */
function carrying(ports: readonly AnomalyPort[]): AnomalyPort[] {
  const worst = ports[0]?.error ?? 0;
  return ports.filter((p, i) => i === 0 || (p.error > 0 && p.error >= worst / 10));
}

function incidentPort(p: AnomalyPort): IncidentPort {
  return {
    protocol: p.protocol,
    port: p.port,
    command: p.command ?? null,
    pid: p.pid ?? null,
  };
}

/** ` (ncat, pid 22354)`, ` (ncat)`, or nothing. */
function owner(p: IncidentPort): string {
  if (!p.command) return "";
  return p.pid ? ` (${p.command}, pid ${p.pid})` : ` (${p.command})`;
}

function portName(t: TrafficRow): string {
  return portLabel(t.protocol, t.port);
}

/** `tcp/22`; for traffic without ports its protocol: `ICMP`, `ICMPv6`. */
function portLabel(protocol: string, port: number | null): string {
  if (port !== null) return `${protocol}/${port}`;
  return protocol === "icmpv6"
    ? "ICMPv6"
    : protocol === "other"
    ? "portless"
    : protocol.toUpperCase();
}

/** Ports of both, each once, in order. */
function mergePorts(a: IncidentPort[], b: IncidentPort[]): IncidentPort[] {
  const seen = new Set<string>();
  return [...a, ...b].filter((p) => {
    const key = `${p.protocol}/${p.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `1 address`, `3 addresses`. */
function plural(n: number, one: string, many: string): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** `a minute`, `10 s`, `5 min`. */
function duration(ms: number): string {
  if (Math.abs(ms - 60_000) < 5_000) return "a minute";
  return ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}
