/**
 * Feature encoding: one round becomes one fixed-length `Float32Array`: what the network sees.
 *
 * ## What the network sees
 *
 * **All 65,536 ports**, folded into `bins` bins of contiguous ports (default 128 bins of 512
 * ports: bin 0 holds ports 0–511, bin 80 holds 40960–41471), with 16 channels per bin:
 *
 * | channel | value |
 * |---|---|
 * | `tcp_listen`, `udp_listen` | listening ports in the bin (procfs LISTEN, or UNCONN for UDP; a port the listen probe found bound counts here, as that probe cannot tell) |
 * | `tcp_other`, `udp_other` | other occupied ports: established connections, clients' ephemeral ports |
 * | `in_ports`, `out_ports` | ports of the bin that received / sent packets |
 * | `tcp_in_packets`, `tcp_out_packets`, `udp_in_packets`, `udp_out_packets` | packets into / out of the bin's ports, per transport |
 * | `in_bytes`, `out_bytes` | bytes into / out of the bin's ports |
 * | `in_peers`, `out_peers` | the most distinct remote addresses on one port of the bin |
 * | `in_remote_ports`, `out_remote_ports` | the most distinct remote ports on one port of the bin (a scan through one port) |
 *
 * Then **31 totals** of the round: occupied TCP ports, occupied UDP ports, listeners, occupied
 * ports in the ephemeral range 32768–60999; TCP and UDP packets in and out; bytes in and out; the
 * most remote ports on one local port, in and out; the most ports one remote address sent TCP
 * connection attempts to, and this host to one remote address (a port scan, whatever ports it
 * comes from); the remote addresses that tried this host and that it tried, and of those the
 * ones never answered; the most addresses this host tried on one remote port (a horizontal
 * scan); the most attempts of one address at one port, each way (a brute force, a flood);
 * local ports with traffic in and out; portless (ICMP and the like) packets in and
 * out; DNS queries, the longest and the mean DNS name; the hour of day (UTC) as sine and cosine;
 * and whether the round was captured. A port counts once
 * per protocol and state whatever its address families (the probes report a dual-stack listener
 * differently). With 128 bins a round is 128 × 16 + 31 = 2,079 numbers.
 *
 * **Scales are fixed**, nothing is fitted on data: port counts are `log2(1 + n) / log2(1 +
 * portsPerBin)` (one port in an empty bin is 0.11 with 512-port bins, a full bin 1); packets are
 * `log(1 + p / 8)` and bytes `log(1 + b / 1000)` over the same of a fixed ceiling (10⁷ packets or
 * 10¹⁰ bytes per bin and minute, 10⁹ and 10¹² for the totals), the unit keeping the Poisson noise
 * of a few packets from swamping the scale; DNS queries like packets; peers, remote ports, port
 * totals and connection attempts' spread and peers `log(1 + x) / log(65,537)`; attempts at one
 * port like packets; DNS name lengths `/ 255`.
 * Ordinary values fall in [0, 1] and a flood stays finite. When capture was off every traffic feature is 0 and
 * `captured` is 0: that traffic is unknown, not zero, and {@linkcode scoredFeatures} leaves it
 * out of the score, as it does DNS name lengths of a round without DNS queries.
 *
 * The encoding has an id ({@linkcode FeatureLayout.id}, e.g. `pad-features-v1/bins-128`) that a
 * saved model carries; a model is only loaded with the encoding it was trained on.
 *
 * @module
 */

import { isEphemeral, PORT_COUNT, type RoundData } from "../round.ts";
import type { Direction } from "../round.ts";
import {
  CHANNEL_SPECS,
  CHANNELS,
  type FeatureLayout,
  featureLayout,
  GLOBAL_INDEX,
  portBin,
  type TrafficMeasure,
} from "./feature_layout.ts";

// Fixed ceilings of the log scales: ordinary values land in [0, 1], floods stay finite.
// Packets count in units of PACKET_UNIT and bytes in units of BYTE_UNIT before the log: below
// a few packets a minute, Poisson noise would otherwise swamp a log scale (0 → 2 packets is as
// far as 200 → 600), and a flood of a quiet port would hardly stand out from it.
const PACKET_UNIT = 8;
const BYTE_UNIT = 1000;
const LOG_PACKETS_BIN = Math.log1p(1e7 / PACKET_UNIT);
const LOG_BYTES_BIN = Math.log1p(1e10 / BYTE_UNIT);
const LOG_PACKETS_TOTAL = Math.log1p(1e9 / PACKET_UNIT);
const LOG_BYTES_TOTAL = Math.log1p(1e12 / BYTE_UNIT);
const LOG_COUNT = Math.log1p(PORT_COUNT);
const LOG_DNS_QUERIES = Math.log1p(1e6 / PACKET_UNIT);
const DNS_NAME_MAX = 255;
const MS_PER_DAY = 86_400_000;

/** Per-bin sums of one direction's traffic. */
interface DirectionSums {
  tcpPackets: Float64Array;
  udpPackets: Float64Array;
  bytes: Float64Array;
  peers: Float64Array;
  remotePorts: Float64Array;
  ports: Set<number>[];
}

function directionSums(bins: number): DirectionSums {
  return {
    tcpPackets: new Float64Array(bins),
    udpPackets: new Float64Array(bins),
    bytes: new Float64Array(bins),
    peers: new Float64Array(bins),
    remotePorts: new Float64Array(bins),
    ports: Array.from({ length: bins }, () => new Set<number>()),
  };
}

/** Channel indices of one direction. */
interface DirectionChannels {
  ports: number;
  tcpPackets: number;
  udpPackets: number;
  bytes: number;
  peers: number;
  remotePorts: number;
}

/** The index of the traffic channel of `direction` that measures `measure` (of `protocol`). */
function trafficChannel(direction: Direction, measure: TrafficMeasure, protocol?: string): number {
  const index = CHANNEL_SPECS.findIndex((c) =>
    c.source === "traffic" && c.direction === direction && c.measure === measure &&
    ("protocol" in c ? c.protocol : undefined) === protocol
  );
  if (index < 0) throw new Error(`No ${direction} ${measure} channel of ${protocol ?? "any"}`);
  return index;
}

function directionChannels(direction: Direction): DirectionChannels {
  return {
    ports: trafficChannel(direction, "ports"),
    tcpPackets: trafficChannel(direction, "packets", "tcp"),
    udpPackets: trafficChannel(direction, "packets", "udp"),
    bytes: trafficChannel(direction, "bytes"),
    peers: trafficChannel(direction, "peers"),
    remotePorts: trafficChannel(direction, "remotePorts"),
  };
}

const IN_CHANNELS = directionChannels("in");
const OUT_CHANNELS = directionChannels("out");

/**
 * The occupancy channel of each slot `(listening ? 0 : 2) + (udp ? 1 : 0)` the encoder counts
 * sockets in.
 */
const OCCUPANCY_CHANNELS = [0, 1, 2, 3].map((slot) =>
  CHANNEL_SPECS.findIndex((c) =>
    c.source === "occupied" && c.listening === (slot < 2) &&
    c.protocol === (slot % 2 === 1 ? "udp" : "tcp")
  )
);

/** Encodes one round; see the module documentation for what each feature means. */
export function encodeRound(
  round: RoundData,
  layout: FeatureLayout = featureLayout(),
): Float32Array {
  const out = new Float32Array(layout.length);
  const c = CHANNELS.length;
  const portScale = Math.log2(1 + layout.portsPerBin);
  const portCount = (n: number) => Math.log2(1 + n) / portScale;

  // Occupancy: one entry per (port, protocol, state), whatever the families.
  const seen = new Set<number>();
  const occupiedPorts = new Set<number>();
  let tcp = 0, udp = 0, listeners = 0, ephemeral = 0;
  const counts = new Float64Array(layout.bins * 4);
  for (const o of round.occupied) {
    if (!validPort(o.port)) continue;
    const udpBit = o.protocol === "udp" ? 1 : 0;
    const listens = o.listening !== false;
    const key = o.port * 4 + udpBit * 2 + (listens ? 0 : 1);
    if (seen.has(key)) continue;
    seen.add(key);
    const protocolKey = o.port * 2 + udpBit;
    if (!occupiedPorts.has(protocolKey)) {
      occupiedPorts.add(protocolKey);
      if (udpBit) udp++;
      else tcp++;
      if (isEphemeral(o.port)) ephemeral++;
    }
    if (listens) listeners++;
    counts[portBin(layout, o.port) * 4 + (listens ? 0 : 2) + udpBit]!++;
  }
  for (let bin = 0; bin < layout.bins; bin++) {
    for (let slot = 0; slot < 4; slot++) {
      const n = counts[bin * 4 + slot]!;
      if (n > 0) out[bin * c + OCCUPANCY_CHANNELS[slot]!] = portCount(n);
    }
  }

  const g = layout.binFeatures;
  out[g + GLOBAL_INDEX.tcp_occupied] = Math.log1p(tcp) / LOG_COUNT;
  out[g + GLOBAL_INDEX.udp_occupied] = Math.log1p(udp) / LOG_COUNT;
  out[g + GLOBAL_INDEX.listeners] = Math.log1p(listeners) / LOG_COUNT;
  out[g + GLOBAL_INDEX.ephemeral_occupied] = Math.log1p(ephemeral) / LOG_COUNT;
  const day = ((round.startTime % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY / MS_PER_DAY;
  out[g + GLOBAL_INDEX.hour_sin] = Math.sin(2 * Math.PI * day);
  out[g + GLOBAL_INDEX.hour_cos] = Math.cos(2 * Math.PI * day);
  out[g + GLOBAL_INDEX.captured] = round.captured ? 1 : 0;
  if (!round.captured) return out;

  const inSums = directionSums(layout.bins);
  const outSums = directionSums(layout.bins);
  // Packets per protocol, in then out: [tcp in, tcp out, udp in, udp out].
  const packets = new Float64Array(4);
  let bytesIn = 0, bytesOut = 0;
  let maxRemoteIn = 0, maxRemoteOut = 0, portlessIn = 0, portlessOut = 0;
  const portsIn = new Set<number>(), portsOut = new Set<number>();
  for (const t of round.traffic) {
    const incoming = t.direction === "in";
    const count = nonNegative(t.packets), bytes = nonNegative(t.bytes);
    if (incoming) bytesIn += bytes;
    else bytesOut += bytes;
    if ((t.protocol !== "tcp" && t.protocol !== "udp") || t.port === null || !validPort(t.port)) {
      if (incoming) portlessIn += count;
      else portlessOut += count;
      continue;
    }
    packets[(t.protocol === "udp" ? 2 : 0) + (incoming ? 0 : 1)]! += count;
    const bin = portBin(layout, t.port);
    const sums = incoming ? inSums : outSums;
    const udpBit = t.protocol === "udp" ? 1 : 0;
    (udpBit ? sums.udpPackets : sums.tcpPackets)[bin]! += count;
    sums.bytes[bin]! += bytes;
    sums.peers[bin] = Math.max(sums.peers[bin]!, nonNegative(t.peers));
    sums.remotePorts[bin] = Math.max(sums.remotePorts[bin]!, nonNegative(t.remotePorts));
    if (count > 0) {
      sums.ports[bin]!.add(t.port * 2 + udpBit);
      (incoming ? portsIn : portsOut).add(t.port * 2 + udpBit);
    }
    if (incoming) maxRemoteIn = Math.max(maxRemoteIn, nonNegative(t.remotePorts));
    else maxRemoteOut = Math.max(maxRemoteOut, nonNegative(t.remotePorts));
  }
  for (let bin = 0; bin < layout.bins; bin++) {
    writeDirection(out, bin * c, IN_CHANNELS, inSums, bin, portCount);
    writeDirection(out, bin * c, OUT_CHANNELS, outSums, bin, portCount);
  }
  out[g + GLOBAL_INDEX.tcp_packets_in] = logPackets(packets[0]!, LOG_PACKETS_TOTAL);
  out[g + GLOBAL_INDEX.tcp_packets_out] = logPackets(packets[1]!, LOG_PACKETS_TOTAL);
  out[g + GLOBAL_INDEX.udp_packets_in] = logPackets(packets[2]!, LOG_PACKETS_TOTAL);
  out[g + GLOBAL_INDEX.udp_packets_out] = logPackets(packets[3]!, LOG_PACKETS_TOTAL);
  out[g + GLOBAL_INDEX.bytes_in] = logBytes(bytesIn, LOG_BYTES_TOTAL);
  out[g + GLOBAL_INDEX.bytes_out] = logBytes(bytesOut, LOG_BYTES_TOTAL);
  out[g + GLOBAL_INDEX.max_remote_ports_in] = Math.log1p(maxRemoteIn) / LOG_COUNT;
  out[g + GLOBAL_INDEX.max_remote_ports_out] = Math.log1p(maxRemoteOut) / LOG_COUNT;
  out[g + GLOBAL_INDEX.syn_ports_per_peer_in] =
    Math.log1p(nonNegative(round.attempts.portsPerPeerIn)) /
    LOG_COUNT;
  out[g + GLOBAL_INDEX.syn_ports_per_peer_out] =
    Math.log1p(nonNegative(round.attempts.portsPerPeerOut)) /
    LOG_COUNT;
  const a = round.attempts;
  const count = (n: number) => Math.log1p(nonNegative(n)) / LOG_COUNT;
  out[g + GLOBAL_INDEX.syn_peers_in] = count(a.peersIn);
  out[g + GLOBAL_INDEX.syn_peers_out] = count(a.peersOut);
  out[g + GLOBAL_INDEX.syn_peers_per_remote_port_out] = count(a.peersPerRemotePortOut);
  out[g + GLOBAL_INDEX.syn_attempts_per_peer_port_in] = logPackets(
    nonNegative(a.attemptsPerPeerPortIn),
    LOG_PACKETS_TOTAL,
  );
  out[g + GLOBAL_INDEX.syn_attempts_per_peer_port_out] = logPackets(
    nonNegative(a.attemptsPerPeerPortOut),
    LOG_PACKETS_TOTAL,
  );
  out[g + GLOBAL_INDEX.ports_in] = Math.log1p(portsIn.size) / LOG_COUNT;
  out[g + GLOBAL_INDEX.ports_out] = Math.log1p(portsOut.size) / LOG_COUNT;
  out[g + GLOBAL_INDEX.portless_packets_in] = logPackets(portlessIn, LOG_PACKETS_TOTAL);
  out[g + GLOBAL_INDEX.portless_packets_out] = logPackets(portlessOut, LOG_PACKETS_TOTAL);
  out[g + GLOBAL_INDEX.dns_queries] = logPackets(nonNegative(round.dns.queries), LOG_DNS_QUERIES);
  out[g + GLOBAL_INDEX.dns_name_max] = clamp01(round.dns.maxNameLength / DNS_NAME_MAX);
  out[g + GLOBAL_INDEX.dns_name_mean] = clamp01(round.dns.meanNameLength / DNS_NAME_MAX);
  return out;
}

/** Writes one direction's traffic channels of one bin. */
function writeDirection(
  out: Float32Array,
  at: number,
  channels: DirectionChannels,
  sums: DirectionSums,
  bin: number,
  portCount: (n: number) => number,
): void {
  const ports = sums.ports[bin]!.size;
  const tcp = sums.tcpPackets[bin]!, udp = sums.udpPackets[bin]!;
  if (ports === 0 && tcp === 0 && udp === 0) return;
  out[at + channels.ports] = portCount(ports);
  out[at + channels.tcpPackets] = logPackets(tcp, LOG_PACKETS_BIN);
  out[at + channels.udpPackets] = logPackets(udp, LOG_PACKETS_BIN);
  out[at + channels.bytes] = logBytes(sums.bytes[bin]!, LOG_BYTES_BIN);
  out[at + channels.peers] = Math.log1p(sums.peers[bin]!) / LOG_COUNT;
  out[at + channels.remotePorts] = Math.log1p(sums.remotePorts[bin]!) / LOG_COUNT;
}

/** Packets on a log scale of {@linkcode PACKET_UNIT}s, up to `ceiling`. */
function logPackets(packets: number, ceiling: number): number {
  return Math.log1p(packets / PACKET_UNIT) / ceiling;
}

/** Bytes on a log scale of {@linkcode BYTE_UNIT}s, up to `ceiling`. */
function logBytes(bytes: number, ceiling: number): number {
  return Math.log1p(bytes / BYTE_UNIT) / ceiling;
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port < PORT_COUNT;
}

function nonNegative(x: number): number {
  return Number.isFinite(x) && x > 0 ? x : 0;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
