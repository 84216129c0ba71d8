/**
 * The listen probe: bind every port and call it occupied when the kernel says `EADDRINUSE`.
 *
 * Portable (no /proc), but it briefly holds each port it tests (a few microseconds), so a service
 * binding that very port at that instant can fail; the procfs probe has no such effect.
 *
 * Facts measured with Deno 2.9.6 on Linux 6.18 (`net.ipv6.bindv6only = 0`), see tests:
 * - Only `AddrInUse` means occupied. `PermissionDenied` comes for ports below
 *   `net.ipv4.ip_unprivileged_port_start` without CAP_NET_BIND_SERVICE, *before* the kernel looks
 *   for a conflict, so those ports are unknown, never occupied (the original's mistake).
 * - `Deno.listen` sets SO_REUSEADDR, so a TIME_WAIT left by a socket that had it too (the server
 *   side of a connection: accepted sockets inherit it from their listener) reads free. A TIME_WAIT
 *   left by a client socket without SO_REUSEADDR still reads occupied, as do the ephemeral ports
 *   of live outgoing connections and of connected UDP sockets.
 * - `Deno.listenDatagram` does not set SO_REUSEADDR, so any bound UDP socket conflicts.
 * - Deno binds `::` without IPV6_V6ONLY, so its `::` socket is dual-stack: binding it fails when
 *   *any* IPv4 or IPv6 socket holds the port (0.0.0.0, 127.0.0.1, ::, ::1 alike). Binding `::1`
 *   conflicts with IPv6 wildcard and `::1` sockets but not with IPv4 ones; binding `0.0.0.0`
 *   conflicts with IPv4 sockets and with dual-stack `::` sockets.
 *
 * Families therefore mean, for this probe:
 * - family 4: an IPv4 bind of the port fails — an IPv4 socket holds it, or a dual-stack IPv6
 *   wildcard socket does (which serves IPv4 too). procfs lists the latter only under family 6:
 *   the one documented difference between the probes for listening sockets.
 * - family 6: a genuine IPv6 socket holds the port. One dual-stack `::` sweep finds every port
 *   held in either family; each (rare) hit is then classified by binding `0.0.0.0` and `::1`.
 *   That halves the cost of sweeping both families. Missed: an IPv6 socket bound to a specific
 *   non-loopback address on a port an IPv4 socket also holds.
 *
 * Cost: each port is one synchronous op (socket, bind, listen for TCP, epoll registration, close),
 * about 15 µs, nearly all of it in the kernel; the loop yields to the event loop every
 * {@linkcode ListenProbeOptions.yieldEveryMs} so callers' timers and workers keep running.
 *
 * @module
 */

import type { Family, OccupiedPort, Protocol, UnknownPorts } from "../round.ts";
import {
  compareOccupied,
  errorKind,
  ErrorTally,
  type Probe,
  resolveSweepOptions,
  type SweepOptions,
  type SweepResult,
  YieldClock,
} from "./types.ts";

/** Options of {@linkcode ListenProbe}. */
export interface ListenProbeOptions {
  /** The longest stretch of synchronous binding between two yields to the event loop. */
  yieldEveryMs?: number;
}

/** What one bind attempt said about a port. */
type Outcome = "free" | "busy" | "denied" | "error";

/**
 * How this host's IPv6 wildcard relates to IPv4:
 * `dual` (`::` also takes IPv4), `separate` (`::` is IPv6-only), or only one family works.
 */
type Stack = "dual" | "separate" | "ipv4-only" | "ipv6-only" | "none";

/** Work shared by the loops of one sweep. */
interface Context {
  errors: ErrorTally;
  clock: YieldClock;
  signal: AbortSignal | undefined;
}

/** Ports of one scan that were in use, and how many could not be probed. */
interface ScanResult {
  busy: number[];
  denied: number;
}

// How many ports between two looks at the clock: reading it costs more than a comparison.
const CLOCK_STRIDE = 256;

/** Sweeps ports by binding each one with `Deno.listen` (TCP) and `Deno.listenDatagram` (UDP). */
export class ListenProbe implements Probe {
  readonly name = "listen" as const;
  readonly #yieldEveryMs: number;

  constructor(options: ListenProbeOptions = {}) {
    this.#yieldEveryMs = options.yieldEveryMs ?? 20;
  }

  /** Sweeps the requested ports; rejects with `signal.reason` when aborted. */
  async sweep(options?: SweepOptions): Promise<SweepResult> {
    const { targets, from, to, signal } = resolveSweepOptions(options);
    signal?.throwIfAborted();
    const startedMs = Date.now();
    const started = performance.now();
    const context: Context = {
      errors: new ErrorTally(),
      clock: new YieldClock(this.#yieldEveryMs),
      signal,
    };
    const occupied: OccupiedPort[] = [];
    const unknown: UnknownPorts[] = [];
    for (const protocol of ["tcp", "udp"] as const) {
      const families = new Set(targets.filter((t) => t.protocol === protocol).map((t) => t.family));
      if (families.size === 0) continue;
      if (protocol === "udp") assertDatagramAvailable();
      const found = await sweepProtocol(protocol, families, from, to, context);
      occupied.push(...found.occupied);
      unknown.push(...found.unknown);
    }
    occupied.sort(compareOccupied);
    return {
      probe: this.name,
      startedMs,
      durationMs: performance.now() - started,
      occupied,
      unknown,
      errors: context.errors.toArray(),
    };
  }
}

/** Sweeps one protocol for the requested families. */
async function sweepProtocol(
  protocol: Protocol,
  families: ReadonlySet<Family>,
  from: number,
  to: number,
  context: Context,
): Promise<{ occupied: OccupiedPort[]; unknown: UnknownPorts[] }> {
  const occupied: OccupiedPort[] = [];
  const unknown: UnknownPorts[] = [];
  const record = (family: Family, scan: ScanResult, busy: Iterable<number> = scan.busy) => {
    // A failed bind says the port is held, not by what: listening or not is unknown.
    for (const port of busy) occupied.push({ port, protocol, family, listening: null });
    if (scan.denied > 0) unknown.push({ protocol, family, ports: scan.denied });
  };
  const want4 = families.has(4);
  const want6 = families.has(6);
  const stack = detectStack(protocol, context.errors);

  if (stack === "dual" && want6) {
    // One pass over `::` finds every port held in either family; classify the few hits.
    const scan = await scanPorts(protocol, "::", from, to, context);
    const held4: number[] = [];
    const held6: number[] = [];
    for (const port of scan.busy) {
      const v4 = tryBind(protocol, "0.0.0.0", port, context.errors);
      if (v4 === "busy") held4.push(port);
      // `::` failed while 0.0.0.0 is free: an IPv6 socket, unless the port was let go meanwhile.
      const v6 = v4 === "free"
        ? tryBind(protocol, "::", port, context.errors)
        : tryBind(protocol, "::1", port, context.errors);
      if (v6 === "busy") held6.push(port);
    }
    if (want4) record(4, scan, held4);
    record(6, scan, held6);
    return { occupied, unknown };
  }
  if (want4 && stack !== "ipv6-only" && stack !== "none") {
    record(4, await scanPorts(protocol, "0.0.0.0", from, to, context));
  }
  // With `::` IPv6-only (or no IPv4 at all), a failed `::` bind is a genuine IPv6 socket.
  if (want6 && (stack === "separate" || stack === "ipv6-only")) {
    record(6, await scanPorts(protocol, "::", from, to, context));
  }
  return { occupied, unknown };
}

/** Binds every port of the range on `hostname`, yielding now and then. */
async function scanPorts(
  protocol: Protocol,
  hostname: string,
  from: number,
  to: number,
  context: Context,
): Promise<ScanResult> {
  const busy: number[] = [];
  let denied = 0;
  for (let port = from; port <= to; port++) {
    const outcome = tryBind(protocol, hostname, port, context.errors);
    if (outcome === "busy") busy.push(port);
    else if (outcome === "denied") denied++;
    if (port % CLOCK_STRIDE === 0 && context.clock.due()) await context.clock.yield(context.signal);
  }
  return { busy, denied };
}

/** Binds one port and closes the socket at once. */
function tryBind(protocol: Protocol, hostname: string, port: number, errors: ErrorTally): Outcome {
  try {
    if (protocol === "tcp") Deno.listen({ transport: "tcp", hostname, port }).close();
    else Deno.listenDatagram({ transport: "udp", hostname, port }).close();
    return "free";
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return "busy";
    if (error instanceof Deno.errors.PermissionDenied) return "denied";
    // No --allow-net: every port would fail the same way, so stop instead of counting.
    if (error instanceof Deno.errors.NotCapable) throw error;
    errors.add(errorKind(error), `${protocol} ${hostPort(hostname, port)}`, error);
    return "error";
  }
}

/**
 * Finds whether `::` is dual-stack here, by binding an ephemeral IPv4 port and then `::` on it.
 * Done per sweep: it costs microseconds and the sysctl could change.
 */
function detectStack(protocol: Protocol, errors: ErrorTally): Stack {
  let v4: Deno.Listener | Deno.DatagramConn | undefined;
  try {
    v4 = open(protocol, "0.0.0.0", 0);
  } catch {
    // No IPv4 at all; whether IPv6 works shows at its bind.
  }
  try {
    const port = v4 ? (v4.addr as Deno.NetAddr).port : 0;
    try {
      open(protocol, "::", port).close();
      return v4 ? "separate" : "ipv6-only";
    } catch (error) {
      if (v4 && error instanceof Deno.errors.AddrInUse) return "dual";
      if (error instanceof Deno.errors.NotCapable) throw error;
      if (!v4) errors.add(errorKind(error), `${protocol} [::]:0 and 0.0.0.0:0`, error);
      return v4 ? "ipv4-only" : "none";
    }
  } finally {
    v4?.close();
  }
}

function open(protocol: Protocol, hostname: string, port: number) {
  return protocol === "tcp"
    ? Deno.listen({ transport: "tcp", hostname, port })
    : Deno.listenDatagram({ transport: "udp", hostname, port });
}

/** Without `--unstable-net` the function is missing, and every UDP port would look broken. */
function assertDatagramAvailable(): void {
  if (typeof Deno.listenDatagram !== "function") {
    throw new Error(
      'Cannot probe UDP ports: "Deno.listenDatagram" needs the --unstable-net flag',
    );
  }
}

function hostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}
