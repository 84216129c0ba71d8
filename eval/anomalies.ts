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
import {
  type Lab,
  LAB_USER,
  type LabSocket,
  nginxTempPaths,
  PACKAGE_POOL,
  type Services,
  TcpState,
  UNANSWERED,
} from "./services.ts";

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

/** The horizontal scan's targets (1,024 addresses of {@linkcode UNANSWERED}) and its rate. */
const WORM_TARGETS = "198.18.0.0/22";
const WORM_RATE = 500;

/**
 * A worm-like horizontal SYN scan: telnet (23) on 1,024 addresses where nothing answers, as
 * Mirai looks for its next victims: nmap at 500 SYNs a second, each address tried once.
 */
export const wormScan: Anomaly = {
  type: "horizontal SYN scan of port 23",
  run(context) {
    unanswered(context, this.type);
    return runTool(context, this.type, "nmap-worm", [
      context.lab.tools.nmap,
      ...["-sS", "-p", "23", "-n", "-Pn", "--max-retries", "0", "--min-hostgroup", "1024"],
      ...["--min-rate", String(WORM_RATE), "--max-rate", String(WORM_RATE), "--open"],
      WORM_TARGETS,
    ]);
  },
};

/** hydra's time limit, and its 200 wrong passwords (the right one is not among them). */
const BRUTE_SECONDS = 10;
const WRONG_PASSWORDS = (
  "123456 password qwerty letmein admin welcome dragon monkey sunshine master shadow football " +
  "iloveyou princess deploy root changeme secret trustno1 passw0rd"
).split(" ").flatMap((word) =>
  ["", "1", "123", "!", "2023", "2024", "01", "@1", "#", "99"].map((suffix) => word + suffix)
);

/**
 * A password brute force with hydra against the lab's sshd or vsftpd: the lab's real user and 200
 * wrong passwords, 4 tasks, stopped by `timeout` after 10 s (or at the list's end). Against sshd
 * with `-w 2`: with hydra's default wait of 32 s for an answer, each task hangs once sshd ends its
 * connection after 6 failures (MaxAuthTries), and the attack stalls after its first 24 tries.
 * Against vsftpd with hydra's defaults: `-w 2` there makes hydra give up after 4 tries, vsftpd
 * answering a failure only after a second. The episode's command says how many logins failed,
 * from the server's own log.
 */
function bruteForce(type: string, service: "ssh" | "ftp"): Anomaly {
  return {
    type,
    async run({ lab, services, signal }) {
      const t = lab.tools;
      const port = services[service];
      const list = `${lab.dir}/passwords.txt`;
      Deno.writeTextFileSync(list, WRONG_PASSWORDS.join("\n") + "\n");
      // sshd logs each failure on stderr (its lab log); vsftpd in its own log.
      const serverLog = service === "ssh"
        ? `${lab.logDir}/sshd.log`
        : `${lab.dir}/services/vsftpd.log`;
      const failure = service === "ssh" ? /Failed password for /g : /FAIL LOGIN/g;
      const failures = () => readOrEmpty(serverLog).match(failure)?.length ?? 0;
      const before = failures();
      const argv = [
        t.timeout,
        String(BRUTE_SECONDS),
        ...[t.hydra, "-I", "-l", LAB_USER.name, "-P", list, "-t", "4"],
        ...(service === "ssh" ? ["-w", "2"] : []),
        `${service}://127.0.0.1:${port}`,
      ];
      const name = `hydra-${service}`;
      const start = Date.now();
      // In the lab's directory: hydra writes its restore file where it runs.
      const result = await lab.run(name, argv, { timeoutMs: 60_000, cwd: lab.dir });
      const end = Date.now();
      signal?.throwIfAborted();
      if (result.code !== 0 && result.code !== 124) {
        throw new PadError(`hydra exited ${result.code}: see ${lab.logDir}/${name}.log`);
      }
      const settled = await settle(lab, end, connectedTo(port), 0, signal);
      const failed = failures() - before;
      if (failed === 0) {
        throw new PadError(`hydra made no login attempt: see ${lab.logDir}/${name}.log`);
      }
      const stopped = result.code === 124 ? `stopped after ${BRUTE_SECONDS} s` : "list done";
      return {
        type,
        start,
        end,
        settled,
        command:
          `${
            result.command.replace(t.hydra, "hydra").replace(list, "passwords.txt")
          } (${WRONG_PASSWORDS.length} ` +
          `wrong passwords; ${failed} failed logins in ${
            service === "ssh" ? "sshd" : "vsftpd"
          }'s ` +
          `log; ${stopped})`,
      };
    },
  };
}

/** hydra against sshd (OpenSSH, Debian's defaults: 6 tries a connection). */
export const sshBruteForce: Anomaly = bruteForce("hydra SSH brute force", "ssh");

/** hydra against vsftpd (Debian's defaults: a failure answered after 1 s, 3 a connection). */
export const ftpBruteForce: Anomaly = bruteForce("hydra FTP brute force", "ftp");

/** How long the bind shell listens, and when its client hangs up. */
const BIND_SHELL_MS = 2_000;
const BIND_CLIENT_MS = 1_500;

/**
 * A bind shell that lives 2 s: `ncat -l … --exec /bin/cat` (cat stands in for a shell: it echoes
 * what it is sent) on 4455 when free, started just after a round began (sweeps come once a
 * second); a client connects at once, sends a command, hangs up after 1.5 s; the listener is
 * stopped 2 s after it started, if it has not exited with its one connection. Whether a sweep sees
 * it or not, its SYN-ACK is in the round's traffic.
 */
export const bindShell: Anomaly = {
  type: "bind shell for 2 s",
  async run({ lab, signal }) {
    const t = lab.tools;
    const port = lab.freePort(4455);
    const argv = [t.ncat, "-l", "127.0.0.1", String(port), "--exec", "/bin/cat"];
    const start = Date.now();
    const shell = lab.spawn("bind-shell", argv);
    try {
      await lab.waitForSockets(`ncat to listen on ${port}`, (sockets) =>
        shell.exited ||
        sockets.some((s) => s.localPort === port && s.state === TcpState.Listen));
      if (shell.exited) {
        throw new PadError(`ncat exited at start: see ${lab.logDir}/bind-shell.log`);
      }
      const client = lab.spawn("bind-shell-client", [t.ncat, "127.0.0.1", String(port)], {
        stdin: "piped",
      });
      const writer = client.stdin!.getWriter();
      await writer.write(new TextEncoder().encode("id\n"));
      await sleep(Math.max(0, start + BIND_CLIENT_MS - Date.now()), signal);
      await writer.close().catch(() => {});
      await Promise.race([client.status, sleep(BIND_SHELL_MS)]);
      await client.stop();
      await sleep(Math.max(0, start + BIND_SHELL_MS - Date.now()), signal);
    } finally {
      await shell.stop();
    }
    const end = Date.now();
    signal?.throwIfAborted();
    if (!readOrEmpty(`${lab.logDir}/bind-shell-client.log`).includes("id")) {
      throw new PadError(
        `Nothing came back from the bind shell: see ${lab.logDir}/bind-shell*.log`,
      );
    }
    return {
      type: this.type,
      start,
      end,
      settled: end, // both ends closed: only TIME_WAIT is left, which pad does not sweep
      command: `${shell.command} (up ${BIND_SHELL_MS / 1000} s; ncat 127.0.0.1 ${port} connects ` +
        `at once, sends "id", hangs up after ${BIND_CLIENT_MS / 1000} s)`,
    };
  },
};

/** The one-way UDP probes: how many, to which address. */
const UDP_PROBES = 300;
const UDP_TARGET = "198.18.161.1";

/**
 * One-way UDP probes: 300 SNMP packets (161) to an address that never answers, 200 a second
 * (1.5 s: one round) from one source port, as a beacon or an SNMP sweep with no one there.
 * hping3 would use lo's first address (127.0.0.1): `-a` gives it the lab's own address, the
 * route's source.
 */
export const udpProbes: Anomaly = {
  type: "one-way UDP probes",
  async run(context) {
    const { lab, signal } = context;
    unanswered(context, this.type);
    const argv = [
      lab.tools.hping3,
      ...["--udp", "-p", "161", "-s", "41161", "-k", "-a", UNANSWERED.source],
      ...["-i", "u5000", "-c", String(UDP_PROBES), "-q", UDP_TARGET],
    ];
    const start = Date.now();
    const result = await lab.run("hping3-udp", argv, { timeoutMs: 60_000 });
    const end = Date.now();
    signal?.throwIfAborted();
    // hping3 exits 1 when nothing answered, which is the point.
    const sent = readOrEmpty(`${lab.logDir}/hping3-udp.log`)
      .match(/(\d+) packets transmitted, (\d+) packets received/g)?.at(-1)?.split(" ");
    if (result.timedOut || !sent || Number(sent[0]) !== UDP_PROBES || Number(sent[3]) !== 0) {
      throw new PadError(
        `hping3 did not send ${UDP_PROBES} unanswered probes (exit ${result.code}): ` +
          `see ${lab.logDir}/hping3-udp.log`,
      );
    }
    return {
      type: this.type,
      start,
      end,
      settled: end,
      command: `${result.command} (${UDP_PROBES} sent, none answered)`,
    };
  },
};

/**
 * A hard negative: a path measurement. traceroute's UDP probes with TTL 1 to 30, 3 a hop, to an
 * address that never answers (nor does any hop: there are none), waiting 1 s for each.
 */
export const traceroute: Anomaly = {
  type: "traceroute (benign)",
  async run(context) {
    unanswered(context, this.type);
    const episode = await runTool(context, this.type, "traceroute", [
      context.lab.tools.traceroute,
      ...["-n", "-q", "3", "-m", "30", "-w", "1", "198.18.99.1"],
    ]);
    return { ...episode, benign: true, command: `${episode.command} (90 probes, none answered)` };
  },
};

/**
 * A hard negative: a package update. 150 downloads of 4–64 KiB from the lab's TLS server, each
 * on a connection of its own (`Connection: close`), 4 at a time: what an update of many small
 * packages from one mirror looks like. The server has been used over TLS from the start.
 */
export const updateBurst: Anomaly = {
  type: "package update, 150 downloads (benign)",
  async run({ lab, services, signal }) {
    const config = `${lab.dir}/updates.curlrc`;
    Deno.writeTextFileSync(
      config,
      PACKAGE_POOL.map((path) =>
        `url = "https://127.0.0.1:${services.https}${path}"\noutput = "/dev/null"\n`
      ).join(""),
    );
    const argv = [
      lab.tools.curl,
      ...["-sSk", "--parallel", "--parallel-max", "4", "-H", "Connection: close"],
      ...["-w", "%{http_code}\\n", "-K", config],
    ];
    const start = Date.now();
    const result = await lab.run("updates", argv, { timeoutMs: 60_000, capture: true });
    const end = Date.now();
    signal?.throwIfAborted();
    const ok = result.stdout.split("\n").filter((code) => code === "200").length;
    if (result.code !== 0 || ok !== PACKAGE_POOL.length) {
      throw new PadError(
        `The update fetched ${ok} of ${PACKAGE_POOL.length} packages (exit ${result.code}): ` +
          `see ${lab.logDir}/updates.log`,
      );
    }
    return {
      type: this.type,
      start,
      end,
      settled: end, // nginx closed each connection: only TIME_WAIT is left, which pad skips
      benign: true,
      command: `${result.command.replace(config, "updates.curlrc")} (${ok} packages of ` +
        `${PACKAGE_POOL.length}, 4–64 KiB each, one HTTPS connection each)`,
    };
  },
};

/** The backup's size. */
const BACKUP_BYTES = 2 * 1024 ** 3;

/**
 * A hard negative: a nightly backup. 2 GiB to the backup sink, which has been there from the
 * start and gets a small backup every minute or so: the only new thing is the volume.
 */
export const bigBackup: Anomaly = {
  type: "2 GiB backup (benign)",
  async run({ lab, services, signal }) {
    const t = lab.tools;
    const argv = [
      t.sh,
      "-c",
      `${t.head} -c ${BACKUP_BYTES} /dev/zero | ${t.ncat} --send-only 127.0.0.1 ${services.backup}`,
    ];
    const start = Date.now();
    const result = await lab.run("backup", argv, { timeoutMs: 180_000 });
    const end = Date.now();
    signal?.throwIfAborted();
    if (result.code !== 0) {
      const why = result.timedOut ? "ran over 180 s" : `exited ${result.code}`;
      throw new PadError(`The backup ${why}: see ${lab.logDir}/backup.log`);
    }
    // The sink's end of the connection (its cat) closes last.
    const settled = await settle(lab, end, connectedTo(services.backup), 0, signal);
    const shown = result.command.replaceAll(/\/[\w/]*\/(head|ncat)\b/g, "$1");
    return { type: this.type, start, end, settled, benign: true, command: shown };
  },
};

/**
 * A hard negative: a web service deployed for good. A second nginx, on 8081 when free, serving
 * the lab's pages, started here and never stopped (the lab's end stops it); one request checks it
 * as a deploy script would.
 *
 * Labelled from its start to the end of the run: pad keeps a change nobody answered flagged in
 * one open incident (one alert, never learned: an attacker's listener must not become normal by
 * waiting), so its later rounds are this change's, not false alarms of their own; what a person
 * gets for it is counted by its incidents, at most one. (Labelled by its first three rounds, as
 * before, every later round counted as a false alarm once the model noticed listeners.) A stray
 * incident in those rounds still shows, as this episode's second.
 */
export const newService: Anomaly = {
  type: "a web service that starts and stays (benign)",
  async run({ lab, roundMs, signal }) {
    const t = lab.tools;
    const port = lab.freePort(8081);
    const dir = `${lab.dir}/site2`;
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(`${dir}/nginx.conf`, siteConfig(dir, `${lab.dir}/services/www`, port));
    const argv = [t.nginx, "-c", `${dir}/nginx.conf`, "-p", dir, "-e", `${dir}/error.log`];
    const start = Date.now();
    const site = lab.spawn("nginx-site2", argv);
    await lab.waitForSockets(`the second nginx to listen on ${port}`, (sockets) =>
      site.exited ||
      sockets.some((s) => s.localPort === port && s.state === TcpState.Listen));
    if (site.exited) throw new PadError(`nginx exited at start: see ${lab.logDir}/nginx-site2.log`);
    const check = await lab.run("check-site2", [
      t.curl,
      ...["-sSf", "-o", "/dev/null", `http://127.0.0.1:${port}/`],
    ]);
    if (check.code !== 0) {
      throw new PadError(`The second nginx did not answer: see ${lab.logDir}/check-site2.log`);
    }
    await sleep(LISTENER_ROUNDS * roundMs, signal);
    const end = Date.now();
    return {
      type: this.type,
      start,
      end,
      settled: end,
      benign: true,
      staysToTheEnd: true,
      command: `${site.command.replaceAll(dir, "site2")} (listens on 127.0.0.1:${port} to the ` +
        "end of the run, the episode's end; one curl checks it)",
    };
  },
};

function siteConfig(dir: string, www: string, port: number): string {
  return `daemon off;
user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  ${nginxTempPaths(dir)}
  server {
    listen 127.0.0.1:${port};
    root ${www};
    default_type text/html;
  }
}
`;
}

/**
 * Every anomaly, in the order the live run makes them: the attacks, then the hard negatives
 * (benign changes), the service that stays last, so that it stays for the rest of the run only.
 */
export const ANOMALIES: readonly Anomaly[] = [
  newListener,
  dnsTunnel,
  synScan,
  udpScan,
  synFlood,
  connectionBurst,
  wormScan,
  sshBruteForce,
  ftpBruteForce,
  bindShell,
  udpProbes,
  traceroute,
  updateBurst,
  bigBackup,
  newService,
];

/** Throws unless the lab routes {@linkcode UNANSWERED} (it needs a namespace). */
function unanswered({ services }: AnomalyContext, type: string): void {
  if (!services.unanswered) {
    throw new PadError(`${type} needs addresses where nothing answers: only in a namespace`);
  }
}

/** A TCP connection to or from `port` that is still open (TIME_WAIT, which pad skips, aside). */
function connectedTo(port: number): (socket: LabSocket) => boolean {
  return (s) =>
    s.protocol === "tcp" && (s.localPort === port || s.remotePort === port) &&
    s.state !== TcpState.Listen && s.state !== TcpState.TimeWait;
}

function readOrEmpty(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

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
