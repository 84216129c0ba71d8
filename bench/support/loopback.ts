/**
 * Test traffic on loopback and tcpdump watching it, for the capture, collect and growth benches.
 * Every datagram goes to 127.0.0.1 or ::1: nothing leaves the machine.
 *
 * @module
 */

import { cpuSecondsOf, PYTHON, run, text } from "./measure.ts";

const FLOOD_PY = new URL("./flood.py", import.meta.url).pathname;
const TRAFFIC_PY = new URL("./udp_traffic.py", import.meta.url).pathname;

/**
 * A UDP socket on 127.0.0.1 that is never read: the kernel drops what overflows it, and no ICMP
 * "port unreachable" comes back to the senders. Close it when done.
 */
export function udpSink(): { port: number } & Disposable {
  const sink = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  return { port: (sink.addr as Deno.NetAddr).port, [Symbol.dispose]: () => sink.close() };
}

/** What the senders of a flood did. */
export interface Flood {
  sent: number;
  /** Seconds from the first datagram to the last (of the longest sender). */
  seconds: number;
}

/**
 * `senders` processes (bench/support/flood.py) send 32-byte datagrams to 127.0.0.1:`port` for
 * `seconds`, as fast as they can or, with `rate`, at about `rate` datagrams/s in all.
 */
export async function flood(
  port: number,
  seconds: number,
  senders: number,
  rate?: number,
): Promise<Flood> {
  const each = rate === undefined ? [] : [String(rate / senders)];
  const outputs = await Promise.all(
    Array.from(
      { length: senders },
      () => run([PYTHON, FLOOD_PY, "127.0.0.1", String(port), String(seconds), ...each]),
    ),
  );
  const reports: Flood[] = outputs.map((o) => JSON.parse(o));
  return {
    sent: reports.reduce((sum, r) => sum + r.sent, 0),
    seconds: Math.max(...reports.map((r) => r.seconds)),
  };
}

/** tcpdump's own account, printed when it stops. */
export interface TcpdumpStats {
  captured: number;
  /** Packets the kernel filter passed; on `lo` each packet is seen twice (out and in). */
  received: number;
  dropped: number;
  /** CPU seconds tcpdump used (user + sys), read just before it was stopped. */
  cpuS: number;
}

/** A running tcpdump. */
export interface Tcpdump {
  /** Stops it with SIGINT and reads the statistics it prints on exit. */
  stop(): Promise<TcpdumpStats>;
}

/**
 * Starts `tcpdump -i lo -n -w OUTPUT -B RING_KIB FILTER` and resolves once it is capturing.
 * `-Z root`: Debian's tcpdump otherwise drops to user tcpdump before opening OUTPUT.
 */
export async function startTcpdump(
  filter: string,
  output = "/dev/null",
  ringKiB = 32_768,
): Promise<Tcpdump> {
  const child = new Deno.Command("tcpdump", {
    args: ["-i", "lo", "-n", "-w", output, "-B", String(ringKiB), "-Z", "root", filter],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("listening on")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`tcpdump exited before capturing: ${seen.trim()}`);
    seen += value;
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return seen;
      seen += value;
    }
  })();
  return {
    async stop() {
      const cpuS = cpuSecondsOf(child.pid);
      child.kill("SIGINT");
      await child.status;
      const report = await rest;
      const stat = (what: string) => {
        const match = new RegExp(`(\\d+) packets? ${what}`).exec(report);
        if (!match) throw new Error(`tcpdump printed no "${what}" count: ${report.trim()}`);
        return Number(match[1]);
      };
      return {
        captured: stat("captured"),
        received: stat("received by filter"),
        dropped: stat("dropped by kernel"),
        cpuS,
      };
    },
  };
}

/** A python3 child keeping about `rate` datagrams/s on loopback (bench/support/udp_traffic.py). */
export interface PacedTraffic {
  /** Stops it; returns how many datagrams it sent and over how many seconds. */
  stop(): Promise<Flood>;
}

/** A UDP port that is free on both 127.0.0.1 and ::1 (when this checked it). */
export function freeUdpPort(): number {
  for (;;) {
    const v4 = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const port = (v4.addr as Deno.NetAddr).port;
    try {
      Deno.listenDatagram({ transport: "udp", hostname: "::1", port }).close();
      return port;
    } catch {
      // taken on ::1: try another
    } finally {
      v4.close();
    }
  }
}

/**
 * Starts light background traffic: `rate` datagrams/s in all, alternating 127.0.0.1 and ::1,
 * each socket sending to itself from `port` (udp_traffic.py paced), so `udp port PORT` selects it.
 */
export function pacedTraffic(rate: number, port: number): PacedTraffic {
  const child = new Deno.Command(PYTHON, {
    args: [TRAFFIC_PY, "paced", String(rate), String(port)],
    stdin: "null",
    stdout: "piped",
  }).spawn();
  const started = performance.now();
  return {
    async stop() {
      child.kill("SIGTERM");
      const output = await child.output();
      return {
        sent: Number(text(output.stdout).trim()),
        seconds: (performance.now() - started) / 1000,
      };
    },
  };
}
