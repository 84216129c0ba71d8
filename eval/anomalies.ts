/**
 * The anomalies of the live scenarios, each made by a real tool in the lab and returned as the
 * {@linkcode Episode} that labels it: when it started and ended (taken just around the tool's
 * run), when its after-effects were gone (measured in the lab's socket table), and the command.
 *
 * @module
 */

import { PadError } from "../src/errors.ts";
import { sleep } from "../src/sleep.ts";
import type { Episode } from "./labels.ts";
import { type Lab, type LabSocket, type Services, TcpState } from "./services.ts";

/** What an anomaly needs to know. */
export interface AnomalyContext {
  lab: Lab;
  services: Services;
  /** Length of a collect round, ms: the new listener stays up three of them. */
  roundMs: number;
  /** Uniform in [0, 1): the DNS tunnel's names. */
  random: () => number;
  /** Aborting it cuts the anomaly short (its tool is stopped) and rejects with the reason. */
  signal?: AbortSignal;
}

/** One kind of anomaly: the results table's row name and how to make it. */
export interface Anomaly {
  type: string;
  run(context: AnomalyContext): Promise<Episode>;
}

/** How long after the end the socket table is watched for after-effects at most. */
const SETTLE_CAP_MS = 90_000;

/** An inbound TCP SYN scan of ports 1–1000 (half-open: nmap resets every SYN-ACK). */
export const synScan: Anomaly = {
  type: "nmap SYN scan",
  run: (context) =>
    runTool(context, "nmap SYN scan", "nmap-syn", [
      context.lab.tools.nmap,
      ...["-sS", "-p", "1-1000", "-T4", "-n", "-Pn", "127.0.0.1"],
    ], halfOpen),
};

/** A UDP scan of nmap's 1,000 most common UDP ports (closed ones answer ICMP port unreachable). */
export const udpScan: Anomaly = {
  type: "nmap UDP scan",
  run: (context) =>
    runTool(context, "nmap UDP scan", "nmap-udp", [
      context.lab.tools.nmap,
      ...["-sU", "--top-ports", "1000", "-T4", "-n", "-Pn", "127.0.0.1"],
    ]),
};

/** How long hping3 floods. */
const FLOOD_MS = 3_000;

/**
 * A SYN flood on nginx's port: hping3 as fast as it can, from changing source ports, stopped
 * with SIGINT after 3 s (80,000 SYNs a second on an idle 2-core machine, each answered by a
 * SYN-ACK, which the kernel answers with a RST). The episode's command says how many were sent.
 */
export const synFlood: Anomaly = {
  type: "hping3 SYN flood",
  async run({ lab, services, signal }) {
    const argv = [lab.tools.hping3, "-S", "-p", String(services.web), "--flood", "-q", "127.0.0.1"];
    const start = Date.now();
    const flood = lab.spawn("hping3", argv);
    await sleep(FLOOD_MS, signal);
    const early = flood.exited;
    await flood.stop("SIGINT");
    signal?.throwIfAborted();
    if (early) {
      throw new PadError(`hping3 stopped before the flood ended: see ${lab.logDir}/hping3.log`);
    }
    const end = Date.now();
    const settled = await settle(lab, end, halfOpen, 0, signal);
    // hping3's closing statistics: how hard it flooded on this machine, for the footnote.
    const sent = Deno.readTextFileSync(`${lab.logDir}/hping3.log`)
      .match(/(\d+) packets transmitted/g)?.at(-1)?.split(" ")[0];
    const count = sent ? `: ${Number(sent).toLocaleString("en")} SYNs` : "";
    return {
      type: this.type,
      start,
      end,
      settled,
      command: `${flood.command} (SIGINT after ${FLOOD_MS / 1000} s${count})`,
    };
  },
};

/** How many rounds the new listener stays up. */
const LISTENER_ROUNDS = 3;

/**
 * A new service: `ncat -l` on an unused port (4444, a classic backdoor's, when free), up for
 * three rounds, then stopped. Its appearance is the anomaly; nothing connects to it.
 */
export const newListener: Anomaly = {
  type: "new listener",
  async run({ lab, roundMs, signal }) {
    const port = lab.freePort(4444);
    const argv = [lab.tools.ncat, "-l", "127.0.0.1", String(port), "--keep-open"];
    const start = Date.now();
    const listener = lab.spawn("ncat", argv);
    const listening = (sockets: LabSocket[]) =>
      listener.exited ||
      sockets.some((s) => s.localPort === port && s.state === TcpState.Listen);
    await lab.waitForSockets(`ncat to listen on ${port}`, listening);
    if (listener.exited) throw new PadError(`ncat exited at start: see ${lab.logDir}/ncat.log`);
    const upMs = LISTENER_ROUNDS * roundMs;
    await sleep(upMs, signal);
    await listener.stop("SIGTERM");
    signal?.throwIfAborted();
    const end = Date.now();
    return {
      type: this.type,
      start,
      end,
      settled: end, // a closed listener leaves nothing behind
      command: `${listener.command} (up ${LISTENER_ROUNDS} rounds, ${upMs / 1000} s, then stopped)`,
    };
  },
};

/** How many connections the burst opens, and how long it holds them. */
const BURST_CONNECTIONS = 3_000;
const BURST_HOLD_S = 2;

/** The connection burst's client: stdlib Python, so nothing to install besides python3. */
const BURST_PY =
  `"""Opens COUNT TCP connections to HOST:PORT as fast as it can, holds them HOLD s, closes
them, and prints the local ports it used (space-separated) on stdout."""
import resource, socket, sys, time

host, port, count, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 64)), hard))
sockets, failed = [], 0
for _ in range(count):
    try:
        sockets.append(socket.create_connection((host, port), timeout=2))
    except OSError:
        failed += 1
time.sleep(hold)
ports = [s.getsockname()[1] for s in sockets]
for s in sockets:
    s.close()
print(" ".join(map(str, ports)))
print(f"{len(sockets)} connected, {failed} failed", file=sys.stderr)
`;

/**
 * A burst of 3,000 outbound TCP connections from ephemeral ports to nginx, opened as fast as
 * possible, held 2 s (so the round's port sweeps see them), then closed. The client closes
 * first, so its 3,000 ports sit in TIME_WAIT for 60 s: settled is when the last is gone.
 */
export const connectionBurst: Anomaly = {
  type: "connection burst",
  async run({ lab, services, signal }) {
    const script = `${lab.dir}/burst.py`;
    Deno.writeTextFileSync(script, BURST_PY);
    const argv = [
      lab.tools.python3,
      ...[script, "127.0.0.1", String(services.web), String(BURST_CONNECTIONS), `${BURST_HOLD_S}`],
    ];
    const start = Date.now();
    const result = await lab.run("burst", argv, { timeoutMs: 60_000, capture: true });
    const end = Date.now();
    const ports = new Set(result.stdout.trim().split(/\s+/).filter(Boolean).map(Number));
    if (result.code !== 0 || ports.size < BURST_CONNECTIONS / 2) {
      throw new PadError(
        `The connection burst made ${ports.size} of ${BURST_CONNECTIONS} connections ` +
          `(exit ${result.code}): see ${lab.logDir}/burst.log`,
      );
    }
    const lingering = (s: LabSocket) =>
      s.protocol === "tcp" && s.state === TcpState.TimeWait && ports.has(s.localPort);
    // Loopback reuses TIME_WAIT ports for new connections (tcp_tw_reuse), so the benign clients
    // put a few of the burst's port numbers back into TIME_WAIT: wait for the burst's own 99%.
    const settled = await settle(lab, end, lingering, Math.ceil(ports.size / 100), signal);
    return {
      type: this.type,
      start,
      end,
      settled,
      command: argv.map((a) => a === script ? "burst.py" : a.slice(a.lastIndexOf("/") + 1))
        .join(" ") +
        ` (${
          ports.size.toLocaleString("en")
        } TCP connections to nginx at once, held ${BURST_HOLD_S} s, then closed)`,
    };
  },
};

/** The DNS tunnel's shape: batches of queries, a pause between them. */
const TUNNEL_BATCHES = 8;
const TUNNEL_QUERIES = 50;
const TUNNEL_PAUSE_MS = 500;
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/**
 * DNS tunnel-like traffic: 400 A and TXT queries to dnsmasq whose names carry 56 + 20 random
 * base32 characters (`<56>.<20>.t.eval.test`, what iodine or dnscat2 queries look like), asked by
 * dig in 8 batches of 50 half a second apart.
 */
export const dnsTunnel: Anomaly = {
  type: "DNS tunnel",
  async run({ lab, services, random, signal }) {
    const label = (n: number) =>
      Array.from({ length: n }, () => BASE32[Math.floor(random() * BASE32.length)]).join("");
    const file = `${lab.dir}/tunnel_queries.txt`;
    const argv = [
      lab.tools.dig,
      ...["@127.0.0.1", "-p", String(services.dns), "+short", "+tries=1", "+time=1", "-f", file],
    ];
    const start = Date.now();
    for (let batch = 0; batch < TUNNEL_BATCHES; batch++) {
      if (batch > 0) await sleep(TUNNEL_PAUSE_MS, signal);
      signal?.throwIfAborted();
      const queries = Array.from(
        { length: TUNNEL_QUERIES },
        (_, i) => `${label(56)}.${label(20)}.t.eval.test ${i % 2 ? "TXT" : "A"}`,
      );
      Deno.writeTextFileSync(file, queries.join("\n") + "\n");
      const result = await lab.run("dig-tunnel", argv, { timeoutMs: 30_000 });
      if (result.code !== 0) {
        throw new PadError(`dig exited ${result.code}: see ${lab.logDir}/dig-tunnel.log`);
      }
    }
    const end = Date.now();
    const command = argv.map((a) => a === file ? "QUERIES" : a.slice(a.lastIndexOf("/") + 1));
    return {
      type: this.type,
      start,
      end,
      settled: end, // dnsmasq's cache fills, but nothing pad sees lingers
      command: `${command.join(" ")} (${TUNNEL_BATCHES} batches of ${TUNNEL_QUERIES} A/TXT ` +
        `queries ${TUNNEL_PAUSE_MS / 1000} s apart; names <56>.<20>.t.eval.test of random base32)`,
    };
  },
};

/** Every anomaly, in the order the live run makes them (the burst, slowest to settle, last). */
export const ANOMALIES: readonly Anomaly[] = [
  newListener,
  dnsTunnel,
  synScan,
  udpScan,
  synFlood,
  connectionBurst,
];

/** A half-open TCP connection: what SYN scans and floods leave until the RST arrives. */
function halfOpen(socket: LabSocket): boolean {
  return socket.protocol === "tcp" && socket.state === TcpState.SynRecv;
}

/** Runs a tool that ends by itself; the episode spans its run. */
async function runTool(
  { lab, signal }: AnomalyContext,
  type: string,
  name: string,
  argv: string[],
  lingering?: (socket: LabSocket) => boolean,
): Promise<Episode> {
  const start = Date.now();
  const result = await lab.run(name, argv, { timeoutMs: 120_000 });
  const end = Date.now();
  if (result.code !== 0) {
    const why = result.timedOut ? "ran over 120 s" : `exited ${result.code}`;
    throw new PadError(`${name} ${why}: see ${lab.logDir}/${name}.log`);
  }
  signal?.throwIfAborted();
  const settled = lingering ? await settle(lab, end, lingering, 0, signal) : end;
  return { type, start, end, settled, command: result.command };
}

/**
 * When at most `allowed` sockets of the lab match `lingering` (polled every 250 ms), at most
 * {@linkcode SETTLE_CAP_MS} after `end`.
 */
async function settle(
  lab: Lab,
  end: number,
  lingering: (socket: LabSocket) => boolean,
  allowed = 0,
  signal?: AbortSignal,
): Promise<number> {
  while (lab.sockets().filter(lingering).length > allowed) {
    if (Date.now() - end > SETTLE_CAP_MS) {
      lab.log(`warning: after-effects still there ${SETTLE_CAP_MS / 1000} s after the end`);
      break;
    }
    await sleep(250, signal);
    signal?.throwIfAborted();
  }
  return Math.max(end, Date.now());
}
