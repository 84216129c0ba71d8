/**
 * Where everything sits in an encoded round, and what each place means. Every channel of a bin
 * and every per-round figure is described by a record (what it counts: occupied sockets of a
 * protocol and state, or traffic of a direction, transport and measure), and everything else —
 * the encoder's indices, which features count in the score, which ports share an error in
 * attribution — is derived from these records, never from positions in a list. Adding a
 * channel therefore cannot silently shift another's meaning; it changes the encoding's id.
 *
 * @module
 */
import { type Direction, PORT_COUNT, type Protocol } from "../round.ts";

/** Bumped whenever the meaning or order of any feature changes. */
export const ENCODING_VERSION = 3;

/** Bins the default encoding folds the ports into. */
export const DEFAULT_BINS = 128;

/** What a traffic channel measures on each port. */
export type TrafficMeasure = "ports" | "packets" | "bytes" | "peers" | "remotePorts";

/** One channel of a bin: occupied sockets, or traffic of the bin's ports. */
export type ChannelSpec =
  | { name: string; source: "occupied"; protocol: Protocol; listening: boolean }
  | {
    name: string;
    source: "traffic";
    direction: Direction;
    measure: TrafficMeasure;
    /** Only this transport's packets; both when absent. */
    protocol?: Protocol;
  };

/** The channels of one bin, in encoding order. */
export const CHANNEL_SPECS = [
  { name: "tcp_listen", source: "occupied", protocol: "tcp", listening: true },
  { name: "udp_listen", source: "occupied", protocol: "udp", listening: true },
  { name: "tcp_other", source: "occupied", protocol: "tcp", listening: false },
  { name: "udp_other", source: "occupied", protocol: "udp", listening: false },
  { name: "in_ports", source: "traffic", direction: "in", measure: "ports" },
  { name: "out_ports", source: "traffic", direction: "out", measure: "ports" },
  {
    name: "tcp_in_packets",
    source: "traffic",
    direction: "in",
    measure: "packets",
    protocol: "tcp",
  },
  {
    name: "tcp_out_packets",
    source: "traffic",
    direction: "out",
    measure: "packets",
    protocol: "tcp",
  },
  {
    name: "udp_in_packets",
    source: "traffic",
    direction: "in",
    measure: "packets",
    protocol: "udp",
  },
  {
    name: "udp_out_packets",
    source: "traffic",
    direction: "out",
    measure: "packets",
    protocol: "udp",
  },
  { name: "in_bytes", source: "traffic", direction: "in", measure: "bytes" },
  { name: "out_bytes", source: "traffic", direction: "out", measure: "bytes" },
  { name: "in_peers", source: "traffic", direction: "in", measure: "peers" },
  { name: "out_peers", source: "traffic", direction: "out", measure: "peers" },
  { name: "in_remote_ports", source: "traffic", direction: "in", measure: "remotePorts" },
  { name: "out_remote_ports", source: "traffic", direction: "out", measure: "remotePorts" },
] as const satisfies readonly ChannelSpec[];

/** A channel name. */
export type Channel = typeof CHANNEL_SPECS[number]["name"];

/** The channel names, in encoding order. */
export const CHANNELS: readonly Channel[] = CHANNEL_SPECS.map((c) => c.name);

/**
 * What a per-round figure is made of: the round's sockets (`occupied`, scored whatever capture
 * did), its traffic (`traffic`, unknown when capture was off), the lengths of its DNS names
 * (`dns_name`, unknown without queries), or the round itself (`context`: never scored).
 */
export type GlobalSource = "occupied" | "traffic" | "dns_name" | "context";

/** How a port's traffic row weighs in a figure: its packets, bytes, or 1 where it had any. */
export type TrafficWeight = "packets" | "bytes" | "present" | "widest_remote_ports";

/**
 * Which of a round's ports a figure counts, so attribution can share its error among them:
 * occupied sockets (of a protocol, listening, or in the ephemeral range), ports with traffic
 * one way, the ports behind connection attempts one way, portless traffic one way, the DNS
 * port, or none.
 */
export type GlobalParts =
  | { occupied: Protocol | "listening" | "ephemeral" }
  | { traffic: Direction; protocol?: Protocol; weight: TrafficWeight }
  | { attempts: Direction }
  | { attemptsPort: Direction }
  | { portless: Direction }
  | { dns: true }
  | null;

/** One per-round figure: its name, what it is made of, and the ports it counts. */
export interface GlobalSpec {
  name: string;
  source: GlobalSource;
  parts: GlobalParts;
}

/** The per-round figures after the bins, in encoding order. */
export const GLOBAL_SPECS = [
  { name: "tcp_occupied", source: "occupied", parts: { occupied: "tcp" } },
  { name: "udp_occupied", source: "occupied", parts: { occupied: "udp" } },
  { name: "listeners", source: "occupied", parts: { occupied: "listening" } },
  { name: "ephemeral_occupied", source: "occupied", parts: { occupied: "ephemeral" } },
  { name: "tcp_packets_in", source: "traffic", parts: traffic("in", "packets", "tcp") },
  { name: "tcp_packets_out", source: "traffic", parts: traffic("out", "packets", "tcp") },
  { name: "udp_packets_in", source: "traffic", parts: traffic("in", "packets", "udp") },
  { name: "udp_packets_out", source: "traffic", parts: traffic("out", "packets", "udp") },
  { name: "bytes_in", source: "traffic", parts: traffic("in", "bytes") },
  { name: "bytes_out", source: "traffic", parts: traffic("out", "bytes") },
  { name: "max_remote_ports_in", source: "traffic", parts: traffic("in", "widest_remote_ports") },
  { name: "max_remote_ports_out", source: "traffic", parts: traffic("out", "widest_remote_ports") },
  { name: "syn_ports_per_peer_in", source: "traffic", parts: { attempts: "in" } },
  { name: "syn_ports_per_peer_out", source: "traffic", parts: { attempts: "out" } },
  // Since encoding 3: who tried how much, which tells a horizontal scan, a flood and a brute
  // force from a host's ordinary connections. Not how many went unanswered: on a quiet host one
  // slow SYN flips that count from 0 to 1 and scored far above the threshold (the replay eval's
  // false alarms); the rules read it, over a whole round's attempts.
  { name: "syn_peers_in", source: "traffic", parts: { attempts: "in" } },
  { name: "syn_peers_out", source: "traffic", parts: { attempts: "out" } },
  { name: "syn_peers_per_remote_port_out", source: "traffic", parts: { attempts: "out" } },
  { name: "syn_attempts_per_peer_port_in", source: "traffic", parts: { attemptsPort: "in" } },
  { name: "syn_attempts_per_peer_port_out", source: "traffic", parts: { attemptsPort: "out" } },
  { name: "ports_in", source: "traffic", parts: traffic("in", "present") },
  { name: "ports_out", source: "traffic", parts: traffic("out", "present") },
  { name: "portless_packets_in", source: "traffic", parts: { portless: "in" } },
  { name: "portless_packets_out", source: "traffic", parts: { portless: "out" } },
  { name: "dns_queries", source: "traffic", parts: { dns: true } },
  { name: "dns_name_max", source: "dns_name", parts: { dns: true } },
  { name: "dns_name_mean", source: "dns_name", parts: { dns: true } },
  { name: "hour_sin", source: "context", parts: null },
  { name: "hour_cos", source: "context", parts: null },
  { name: "captured", source: "context", parts: null },
] as const satisfies readonly GlobalSpec[];

function traffic(
  direction: Direction,
  weight: TrafficWeight,
  protocol?: Protocol,
): { traffic: Direction; protocol?: Protocol; weight: TrafficWeight } {
  return protocol ? { traffic: direction, protocol, weight } : { traffic: direction, weight };
}

/** A global feature name. */
export type Global = typeof GLOBAL_SPECS[number]["name"];

/** The global names, in encoding order. */
export const GLOBALS: readonly Global[] = GLOBAL_SPECS.map((g) => g.name);

/** Where everything sits in an encoded round. */
export interface FeatureLayout {
  /** Carried by saved models, e.g. `pad-features-v2/bins-128`. */
  readonly id: string;
  readonly bins: number;
  readonly portsPerBin: number;
  readonly channels: readonly Channel[];
  readonly globals: readonly Global[];
  /** `bins × channels`: the bin part comes first, bin-major (bin 0's channels, then bin 1's…). */
  readonly binFeatures: number;
  /** Length of an encoded round: `binFeatures + globals.length`. */
  readonly length: number;
}

const layouts = new Map<number, FeatureLayout>();

/** The layout for `bins` bins: a power of two from 16 to 4096. */
export function featureLayout(bins: number = DEFAULT_BINS): FeatureLayout {
  let layout = layouts.get(bins);
  if (layout) return layout;
  if (!Number.isInteger(bins) || bins < 16 || bins > 4096 || (bins & (bins - 1)) !== 0) {
    throw new RangeError(`Bins must be a power of two from 16 to 4096: got ${bins}`);
  }
  const binFeatures = bins * CHANNELS.length;
  layout = Object.freeze({
    id: `pad-features-v${ENCODING_VERSION}/bins-${bins}`,
    bins,
    portsPerBin: PORT_COUNT / bins,
    channels: CHANNELS,
    globals: GLOBALS,
    binFeatures,
    length: binFeatures + GLOBALS.length,
  });
  layouts.set(bins, layout);
  return layout;
}

/** A channel's position within a bin. */
export const CHANNEL_INDEX = Object.fromEntries(CHANNELS.map((c, i) => [c, i])) as Record<
  Channel,
  number
>;

/** A global's position after the bins. */
export const GLOBAL_INDEX = Object.fromEntries(GLOBALS.map((g, i) => [g, i])) as Record<
  Global,
  number
>;

/** Index of a channel of a bin in an encoded round. */
export function binFeatureIndex(layout: FeatureLayout, bin: number, channel: Channel): number {
  if (!Number.isInteger(bin) || bin < 0 || bin >= layout.bins) {
    throw new RangeError(`Bin must be in [0, ${layout.bins}): got ${bin}`);
  }
  return bin * CHANNELS.length + CHANNEL_INDEX[channel];
}

/** Index of a global feature in an encoded round. */
export function globalFeatureIndex(layout: FeatureLayout, name: Global): number {
  return layout.binFeatures + GLOBAL_INDEX[name];
}

/** The bin a port falls in. */
export function portBin(layout: FeatureLayout, port: number): number {
  return Math.floor(port / layout.portsPerBin);
}

/** What an index of an encoded round is: a channel of a bin, or a global. */
export type FeatureName =
  | { kind: "bin"; bin: number; channel: Channel; firstPort: number; lastPort: number }
  | { kind: "global"; name: Global };

/** Names the feature at `index`, e.g. for attribution or a debug dump. */
export function describeFeature(layout: FeatureLayout, index: number): FeatureName {
  if (!Number.isInteger(index) || index < 0 || index >= layout.length) {
    throw new RangeError(`Feature index must be in [0, ${layout.length}): got ${index}`);
  }
  if (index >= layout.binFeatures) {
    return { kind: "global", name: GLOBALS[index - layout.binFeatures]! };
  }
  const bin = Math.floor(index / CHANNELS.length);
  return {
    kind: "bin",
    bin,
    channel: CHANNELS[index % CHANNELS.length]!,
    firstPort: bin * layout.portsPerBin,
    lastPort: (bin + 1) * layout.portsPerBin - 1,
  };
}

const masks = new Map<string, Float32Array>();

/**
 * Which features count in the score of an encoded round: 1 or 0 per feature. Context figures
 * (hour, `captured`) describe the round, not the host, and never count; traffic counts only when
 * it was captured; DNS name lengths only when there were DNS queries (without names they are
 * unknown, not zero). The array is shared: do not modify it.
 */
export function scoredFeatures(layout: FeatureLayout, encoded: ArrayLike<number>): Float32Array {
  const g = layout.binFeatures;
  const captured = encoded[g + GLOBAL_INDEX.captured]! > 0.5;
  const named = captured && encoded[g + GLOBAL_INDEX.dns_queries]! > 0;
  const key = `${layout.id}/${captured}/${named}`;
  let mask = masks.get(key);
  if (mask) return mask;
  mask = new Float32Array(layout.length);
  const known: Record<GlobalSource, boolean> = {
    occupied: true,
    traffic: captured,
    dns_name: named,
    context: false,
  };
  for (let bin = 0; bin < layout.bins; bin++) {
    CHANNEL_SPECS.forEach((channel, k) => {
      mask![bin * CHANNELS.length + k] = known[channel.source] ? 1 : 0;
    });
  }
  GLOBAL_SPECS.forEach((global, k) => {
    mask![g + k] = known[global.source] ? 1 : 0;
  });
  masks.set(key, mask);
  return mask;
}
