/**
 * A seeded generator of realistic round histories for the model's tests and benchmark: a small
 * server (sshd, nginx, PostgreSQL, Redis, dnsmasq, chrony, avahi) whose clients and services follow
 * a daily rhythm, one round a minute, plus injectors for the anomalies detect must flag.
 *
 * The same seed always gives the same history, so every figure a test asserts is repeatable.
 *
 * @module
 */

import type { OccupiedPort, RoundData, TrafficRow } from "../../src/model/round_data.ts";
import { mulberry32 } from "../../src/random.ts";

/** The seeded PRNG the fixtures draw from. */
export const prng = mulberry32;

/** A Poisson draw (Knuth below 30, a rounded normal above). */
function poisson(random: () => number, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(random)));
  const limit = Math.exp(-lambda);
  let k = 0, p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

function normal(random: () => number): number {
  const u = Math.max(random(), 1e-12), v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Multiplicative noise: a log-normal factor with median 1. */
function jitter(random: () => number, sigma: number): number {
  return Math.exp(sigma * normal(random));
}

const MINUTE = 60_000;
const EPHEMERAL_FIRST = 32_768;
const EPHEMERAL_SPAN = 60_999 - 32_768 + 1;

/** Activity over the day, 0.05 at night to about 1 at the late-morning peak (UTC hours). */
export function activity(hour: number): number {
  const morning = Math.exp(-(((hour - 10.5) / 2.5) ** 2));
  const afternoon = 0.8 * Math.exp(-(((hour - 15.5) / 2.5) ** 2));
  const evening = 0.35 * Math.exp(-(((hour - 20.5) / 1.5) ** 2));
  return 0.05 + morning + afternoon + evening;
}

interface Service {
  port: number;
  protocol: "tcp" | "udp";
  families: (4 | 6)[];
  pid: number;
  command: string;
  /** Inbound requests per minute at full activity (0: no inbound traffic). */
  rate: number;
  /** Packets in per request, and bytes per packet in and out. */
  packetsPerRequest: number;
  bytesIn: number;
  bytesOut: number;
}

const SERVICES: Service[] = [
  svc(22, "tcp", [4, 6], 812, "sshd", 6, 40, 90, 120),
  svc(80, "tcp", [4, 6], 1020, "nginx", 40, 6, 300, 900),
  svc(443, "tcp", [4, 6], 1020, "nginx", 220, 12, 400, 1300),
  svc(5432, "tcp", [4], 1310, "postgres", 90, 4, 200, 600),
  svc(6379, "tcp", [4], 1402, "redis-server", 150, 2, 90, 120),
  svc(3000, "tcp", [4], 2210, "node", 0, 0, 0, 0),
  svc(53, "udp", [4, 6], 640, "dnsmasq", 30, 1, 70, 140),
  svc(123, "udp", [4], 702, "chronyd", 0.3, 1, 90, 90),
  svc(5353, "udp", [4, 6], 655, "avahi-daemon", 2, 1, 120, 120),
  svc(68, "udp", [4], 590, "dhclient", 0, 0, 0, 0),
];

function svc(
  port: number,
  protocol: "tcp" | "udp",
  families: (4 | 6)[],
  pid: number,
  command: string,
  rate: number,
  packetsPerRequest: number,
  bytesIn: number,
  bytesOut: number,
): Service {
  return { port, protocol, families, pid, command, rate, packetsPerRequest, bytesIn, bytesOut };
}

/** Options of {@linkcode generateHistory}. */
export interface HistoryOptions {
  seed: number;
  /** Number of rounds, one a minute. */
  rounds: number;
  /** Start of the first round, ms since the epoch (default 2026-03-02T00:00Z, a Monday). */
  start?: number;
  /** Id of the first round (default 1). */
  firstId?: number;
}

/** Default start of a history: midnight UTC. */
export const HISTORY_START = Date.UTC(2026, 2, 2);

/**
 * A history of normal rounds: stable listeners with their owners; client connections whose
 * ephemeral ports churn (32768–60999) and a pool of long-lived database connections that are
 * renewed now and then; inbound requests, outgoing requests, DNS and the odd ping following the
 * hour of day; a few stray packets from internet background noise on random ports.
 */
export function generateHistory(options: HistoryOptions): RoundData[] {
  const random = prng(options.seed);
  const start = options.start ?? HISTORY_START;
  const firstId = options.firstId ?? 1;
  // The app's connection pool to PostgreSQL and Redis: ephemeral ports that live for hours.
  const pool: number[] = Array.from({ length: 12 }, () => ephemeralPort(random));
  const rounds: RoundData[] = [];
  for (let i = 0; i < options.rounds; i++) {
    const startTime = start + i * MINUTE;
    const hour = (startTime % 86_400_000) / 3_600_000;
    const level = activity(hour) * jitter(random, 0.15);
    // Renew one pooled connection now and then.
    if (random() < 0.02) pool[Math.floor(random() * pool.length)] = ephemeralPort(random);
    rounds.push(generateRound(random, firstId + i, startTime, level, pool));
  }
  return rounds;
}

function ephemeralPort(random: () => number): number {
  return EPHEMERAL_FIRST + Math.floor(random() * EPHEMERAL_SPAN);
}

function generateRound(
  random: () => number,
  id: number,
  startTime: number,
  level: number,
  pool: number[],
): RoundData {
  const occupied: OccupiedPort[] = [];
  const traffic: TrafficRow[] = [];
  const used = new Set<number>();
  // Connection attempts' spread: ordinary peers try one port each.
  let synIn = 0, synOut = 0;
  const occupy = (
    port: number,
    protocol: "tcp" | "udp",
    listening: boolean,
    pid: number,
    command: string,
    families: (4 | 6)[] = [4],
  ) => {
    for (const family of families) {
      occupied.push({ port, protocol, family, listening, pid, command });
    }
  };
  const flow = (
    port: number | null,
    protocol: TrafficRow["protocol"],
    direction: "in" | "out",
    packets: number,
    bytesPerPacket: number,
    peers: number,
    remotePorts: number,
  ) => {
    if (packets <= 0) return;
    traffic.push({
      port,
      protocol,
      direction,
      packets,
      bytes: Math.round(packets * bytesPerPacket * jitter(random, 0.1)),
      peers: Math.max(1, peers),
      remotePorts: Math.max(1, remotePorts),
    });
  };

  for (const s of SERVICES) {
    occupy(s.port, s.protocol, true, s.pid, s.command, s.families);
    used.add(s.port);
    if (s.rate === 0) continue;
    const requests = poisson(random, s.rate * level);
    if (requests === 0) continue;
    const packetsIn = Math.max(1, Math.round(requests * s.packetsPerRequest * jitter(random, 0.2)));
    const packetsOut = Math.max(1, Math.round(packetsIn * (0.8 + 0.4 * random())));
    const peers = Math.max(1, Math.min(requests, poisson(random, 1 + requests / 6)));
    const remotePorts = s.protocol === "tcp" ? requests : Math.min(requests, peers * 2);
    flow(s.port, s.protocol, "in", packetsIn, s.bytesIn, peers, remotePorts);
    if (s.protocol === "tcp") synIn = 1; // each client connects to one service
    flow(s.port, s.protocol, "out", packetsOut, s.bytesOut, peers, remotePorts);
  }

  // Long-lived pooled connections on loopback: both ends are local (5432 and 6379 count too).
  for (const port of pool) {
    if (used.has(port)) continue;
    used.add(port);
    occupy(port, "tcp", false, 2210, "node");
    const packets = poisson(random, 25 * level);
    flow(port, "tcp", "out", packets, 180, 1, 1);
    flow(port, "tcp", "in", Math.round(packets * 0.9), 500, 1, 1);
  }

  // Outgoing client connections (package mirrors, APIs, webhooks): one ephemeral port each.
  const clients = poisson(random, 3 + 30 * level);
  for (let k = 0; k < clients; k++) {
    const port = ephemeralPort(random);
    if (used.has(port)) continue;
    used.add(port);
    occupy(port, "tcp", false, 2210, "node");
    const packets = Math.max(2, Math.round(12 * jitter(random, 0.8)));
    flow(port, "tcp", "out", packets, 120, 1, 1);
    flow(port, "tcp", "in", Math.round(packets * 1.4), 900, 1, 1);
    synOut = 1;
  }

  // DNS: the resolver's connected UDP sockets, caught by a sweep now and then.
  const queries = poisson(random, 4 + 40 * level);
  const lookups = Math.min(queries, poisson(random, 0.6 + 2 * level));
  for (let k = 0; k < lookups; k++) {
    const port = ephemeralPort(random);
    if (used.has(port)) continue;
    used.add(port);
    occupy(port, "udp", false, 2210, "node");
    flow(port, "udp", "out", 1, 75, 1, 1);
    flow(port, "udp", "in", 1, 160, 1, 1);
  }

  // Internet background noise: single SYNs to random ports from a few scanners.
  const stray = poisson(random, 1.5);
  for (let k = 0; k < stray; k++) {
    const port = 1 + Math.floor(random() * 65_535);
    flow(port, "tcp", "in", 1, 60, 1, 1);
    if (!used.has(port)) flow(port, "tcp", "out", 1, 54, 1, 1);
    synIn = 1;
  }

  // The odd ping.
  const pings = poisson(random, 0.8);
  flow(null, "icmp", "in", pings, 84, Math.min(pings, 2), 1);
  flow(null, "icmp", "out", pings, 84, Math.min(pings, 2), 1);

  const meanName = queries === 0 ? 0 : 16 + 3 * normal(random);
  return {
    id,
    startTime,
    occupied,
    traffic,
    dns: {
      queries,
      maxNameLength: queries === 0 ? 0 : Math.round(Math.max(meanName, 22 + 8 * random())),
      meanNameLength: Math.max(0, meanName),
    },
    synSpread: { in: synIn, out: synOut },
    captured: true,
  };
}

/** A deep copy, so an injector never touches the normal history. */
export function cloneRound(round: RoundData): RoundData {
  return {
    ...round,
    occupied: round.occupied.map((o) => ({ ...o })),
    traffic: round.traffic.map((t) => ({ ...t })),
    dns: { ...round.dns },
    synSpread: { ...round.synSpread },
  };
}

/** Anomaly 1: a new TCP listener on an unused port (a backdoor: `nc -l 41234`). */
export function injectListener(round: RoundData, port = 41_234): RoundData {
  const r = cloneRound(round);
  r.occupied = r.occupied.filter((o) => o.port !== port);
  r.occupied.push({ port, protocol: "tcp", family: 4, listening: true, pid: 6666, command: "nc" });
  return r;
}

/** Anomaly 2: `count` ephemeral ports occupied at once (a connection storm, a fork bomb of clients). */
export function injectEphemeralBurst(round: RoundData, seed: number, count = 300): RoundData {
  const random = prng(seed);
  const r = cloneRound(round);
  const used = new Set(r.occupied.map((o) => o.port));
  let added = 0;
  while (added < count) {
    const port = ephemeralPort(random);
    if (used.has(port)) continue;
    used.add(port);
    r.occupied.push({
      port,
      protocol: "tcp",
      family: 4,
      listening: false,
      pid: 7777,
      command: "python3",
    });
    added++;
  }
  return r;
}

/**
 * Anomaly 3a: an inbound port scan: one remote address sends a SYN to `count` local ports (nmap's
 * favourites first, then random ones); each closed port answers with a reset.
 */
export function injectInboundScan(round: RoundData, seed: number, count = 300): RoundData {
  const random = prng(seed);
  const r = cloneRound(round);
  const targets = new Set<number>([21, 23, 25, 110, 139, 445, 3306, 3389, 5900, 8080, 8443]);
  while (targets.size < count) targets.add(1 + Math.floor(random() * 10_000));
  for (const port of targets) {
    r.traffic.push({
      port,
      protocol: "tcp",
      direction: "in",
      packets: 1,
      bytes: 60,
      peers: 1,
      remotePorts: 1,
    });
    r.traffic.push({
      port,
      protocol: "tcp",
      direction: "out",
      packets: 1,
      bytes: 54,
      peers: 1,
      remotePorts: 1,
    });
  }
  r.synSpread.in = Math.max(r.synSpread.in, targets.size);
  return r;
}

/**
 * Anomaly 3b: an outbound port scan: one local ephemeral port (a SYN scanner) sends to `count`
 * ports of one remote host, which answers each.
 */
export function injectOutboundScan(round: RoundData, count = 300, port = 45_000): RoundData {
  const r = cloneRound(round);
  r.occupied.push({
    port,
    protocol: "tcp",
    family: 4,
    listening: false,
    pid: 8888,
    command: "nmap",
  });
  r.traffic.push({
    port,
    protocol: "tcp",
    direction: "out",
    packets: count,
    bytes: count * 58,
    peers: 1,
    remotePorts: count,
  });
  r.traffic.push({
    port,
    protocol: "tcp",
    direction: "in",
    packets: count,
    bytes: count * 54,
    peers: 1,
    remotePorts: count,
  });
  r.synSpread.out = Math.max(r.synSpread.out, count);
  return r;
}

/** Anomaly 4: a UDP flood: inbound packets and bytes on one UDP port times `factor`. */
export function injectUdpFlood(round: RoundData, port = 53, factor = 100): RoundData {
  const r = cloneRound(round);
  let row = r.traffic.find((t) => t.port === port && t.protocol === "udp" && t.direction === "in");
  if (!row) {
    row = {
      port,
      protocol: "udp",
      direction: "in",
      packets: 1,
      bytes: 80,
      peers: 1,
      remotePorts: 1,
    };
    r.traffic.push(row);
  }
  row.packets *= factor;
  row.bytes *= factor;
  return r;
}
