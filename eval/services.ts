/**
 * The world of the live scenarios: a network namespace of their own (or, where one cannot be
 * made, this host's loopback), the real Debian services in it — nginx, redis-server, dnsmasq —
 * and the benign clients that keep them busy (curl, redis-cli, redis-benchmark, dig).
 *
 * Every process is started through a {@linkcode Lab}, which logs its output to a file in the work
 * directory and stops it at the end, whatever happened.
 *
 * @module
 */

import { errorMessage, PadError } from "../src/errors.ts";
import { mulberry32 } from "../src/random.ts";
import { sleep } from "../src/sleep.ts";

/** The programs the live scenarios run, each with the Debian package that ships it. */
const TOOLS = {
  ip: "iproute2",
  sleep: "coreutils",
  nginx: "nginx",
  "redis-server": "redis-server",
  "redis-cli": "redis-tools",
  "redis-benchmark": "redis-tools",
  dnsmasq: "dnsmasq-base",
  curl: "curl",
  dig: "bind9-dnsutils",
  nmap: "nmap",
  hping3: "hping3",
  ncat: "ncat",
  python3: "python3",
  sshd: "openssh-server",
  ssh: "openssh-client",
  "ssh-keygen": "openssh-client",
  vsftpd: "vsftpd",
  hydra: "hydra",
  openssl: "openssl",
  traceroute: "traceroute",
  unshare: "util-linux",
  mount: "mount",
  sh: "dash",
  head: "coreutils",
  timeout: "coreutils",
} as const;

/** A program the live scenarios need. */
export type ToolName = keyof typeof TOOLS;

/** Absolute path of every tool. */
export type ToolPaths = Record<ToolName, string>;

// System directories first: the python3 in PATH may be another interpreter (pyenv), and sbin
// directories are often missing from PATH.
const SYSTEM_DIRS = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"];

/** Finds every tool; throws one error naming the Debian packages of those missing. */
export function findTools(): ToolPaths {
  const dirs = [...SYSTEM_DIRS, ...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean)];
  const found: Partial<ToolPaths> = {};
  const missing: string[] = [];
  for (const [tool, pkg] of Object.entries(TOOLS) as [ToolName, string][]) {
    const path = dirs.map((dir) => `${dir}/${tool}`).find(isExecutable);
    if (path) found[tool] = path;
    else missing.push(`${tool} (${pkg})`);
  }
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((m) => m.slice(m.indexOf("(") + 1, -1)))];
    throw new PadError(
      `The live scenarios need ${missing.join(", ")}: apt-get install ${packages.join(" ")}`,
    );
  }
  return found as ToolPaths;
}

function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** One socket of the lab's network, from `/proc/<pid>/net/{tcp,tcp6,udp,udp6}`. */
export interface LabSocket {
  protocol: "tcp" | "udp";
  family: 4 | 6;
  localPort: number;
  remotePort: number;
  /** The kernel's state number: see {@linkcode TcpState}. */
  state: number;
}

/** The TCP states (and UDP's "bound") the live scenarios look for, as `/proc/net` numbers them. */
export const TcpState = {
  Established: 0x01,
  SynRecv: 0x03,
  TimeWait: 0x06,
  /** A bound UDP socket (TCP_CLOSE). */
  UdpBound: 0x07,
  Listen: 0x0a,
} as const;

/** A process started in the lab. */
export class LabProcess {
  /** The name its log file is named after. */
  readonly name: string;
  readonly pid: number;
  /** What ran, without the namespace prefix: `nmap -sS …`. */
  readonly command: string;
  /** Resolves when it has exited and its output is written. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Its stdin when started with `stdin: "piped"`. */
  readonly stdin: WritableStream<Uint8Array> | undefined;
  #child: Deno.ChildProcess;
  #exited = false;

  constructor(
    name: string,
    command: string,
    child: Deno.ChildProcess,
    output: Promise<void>,
    piped: boolean,
  ) {
    this.name = name;
    this.command = command;
    this.pid = child.pid;
    this.#child = child;
    this.stdin = piped ? child.stdin : undefined;
    this.status = Promise.all([child.status, output]).then(([status]) => {
      this.#exited = true;
      return status;
    });
  }

  /** True once it has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Sends `signal`; after `graceMs` without exiting, SIGKILL. Resolves when it has exited. */
  async stop(signal: Deno.Signal = "SIGTERM", graceMs = 3_000): Promise<Deno.CommandStatus> {
    if (!this.#exited) {
      this.#kill(signal);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), graceMs);
      });
      const first = await Promise.race([this.status, late]);
      clearTimeout(timer);
      if (first === "late") this.#kill("SIGKILL");
    }
    return await this.status;
  }

  #kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // It exited between the check and the kill: nothing left to stop.
    }
  }
}

/** How {@linkcode Lab.spawn} starts a process. */
export interface SpawnOptions {
  stdin?: "piped" | "null";
  /** Where stdout goes instead of the log (for {@linkcode Lab.run}'s `capture`). */
  capture?: Uint8Array[];
  /** Added to the environment. */
  env?: Record<string, string>;
  /** Working directory (default: this process's). */
  cwd?: string;
}

/** What {@linkcode Lab.run} returns. */
export interface RunResult {
  code: number;
  /** What ran, as {@linkcode LabProcess.command}. */
  command: string;
  /** Its stdout when run with `capture: true`, else "". */
  stdout: string;
  timedOut: boolean;
}

/** How {@linkcode Lab.open} makes the lab. */
export interface LabOptions {
  /** Work directory: configs, pid files, logs (in `logs/`). */
  dir: string;
  /** Run everything in a network namespace of its own (the default); else on this host's lo. */
  netns?: boolean;
  tools: ToolPaths;
  /** Progress lines. */
  log: (line: string) => void;
}

/**
 * Where the live scenarios run. With a network namespace, `lo` and `/proc/net` hold only the
 * scenarios' own traffic and sockets: other programs on this host cannot disturb the ground truth,
 * and the services get their usual ports (nginx 80, DNS 53: pad decodes DNS on port 53 only).
 */
export class Lab {
  readonly dir: string;
  readonly logDir: string;
  readonly tools: ToolPaths;
  /** The namespace's name, or undefined on this host's loopback. */
  readonly netns: string | undefined;
  readonly log: (line: string) => void;
  #prefix: string[];
  #running = new Set<LabProcess>();
  #anchor: LabProcess | undefined;
  #closed = false;

  private constructor(options: LabOptions, netns: string | undefined) {
    this.dir = options.dir;
    this.logDir = `${options.dir}/logs`;
    this.tools = options.tools;
    this.log = options.log;
    this.netns = netns;
    this.#prefix = netns ? [options.tools.ip, "netns", "exec", netns] : [];
  }

  /** Makes the namespace (falling back to this host's lo with a warning) and its anchor. */
  static async open(options: LabOptions): Promise<Lab> {
    Deno.mkdirSync(`${options.dir}/logs`, { recursive: true });
    let netns: string | undefined;
    if (options.netns ?? true) {
      const name = `pad-eval-${Deno.pid}-${Date.now() % 100_000}`;
      const made = await command(options.tools.ip, ["netns", "add", name]);
      const up = made.code === 0
        ? await command(options.tools.ip, [
          "netns",
          "exec",
          name,
          options.tools.ip,
          "link",
          "set",
          "lo",
          "up",
        ])
        : made;
      if (up.code === 0) netns = name;
      else {
        if (made.code === 0) await command(options.tools.ip, ["netns", "del", name]);
        options.log(
          `warning: no network namespace (${up.stderr.trim()}): running on this host's lo, ` +
            "where other programs' traffic and listeners land in the rounds too",
        );
      }
    }
    const lab = new Lab(options, netns);
    // A process that lives as long as the lab: /proc/<its pid>/net is the lab's socket table.
    lab.#anchor = lab.spawn("anchor", [options.tools.sleep, "infinity"]);
    return lab;
  }

  /**
   * Starts `argv` in the lab; stdout and stderr go to `logs/<name>.log` (stdout is kept in
   * memory instead with `capture`, for {@linkcode Lab.run}). `env` adds to the environment;
   * `cwd` is where it runs (hydra leaves its restore file there).
   */
  spawn(name: string, argv: string[], options: SpawnOptions = {}): LabProcess {
    if (this.#closed) throw new Error(`The lab is closed: cannot start ${name}`);
    const [program, ...args] = [...this.#prefix, ...argv];
    const child = new Deno.Command(program!, {
      args,
      env: { NO_COLOR: "1", ...options.env },
      cwd: options.cwd,
      stdin: options.stdin ?? "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const file = Deno.openSync(`${this.logDir}/${name}.log`, { append: true, create: true });
    const output = Promise.all([
      options.capture ? collect(child.stdout, options.capture) : drain(child.stdout, file),
      drain(child.stderr, file),
    ]).catch((error) => this.log(`warning: output of ${name} lost: ${errorMessage(error)}`))
      .finally(() => file.close()).then(() => {});
    const text = argv.map((a, i) => i === 0 ? a.slice(a.lastIndexOf("/") + 1) : quote(a));
    const process = new LabProcess(name, text.join(" "), child, output, options.stdin === "piped");
    this.#running.add(process);
    process.status.finally(() => this.#running.delete(process));
    return process;
  }

  /** The processes started in the lab that are still running. */
  running(): LabProcess[] {
    return [...this.#running];
  }

  /** Runs `argv` to its end, or kills it after `timeoutMs`. */
  async run(
    name: string,
    argv: string[],
    options: { timeoutMs?: number; capture?: boolean; env?: Record<string, string>; cwd?: string } =
      {},
  ): Promise<RunResult> {
    const chunks: Uint8Array[] = [];
    const process = this.spawn(name, argv, {
      capture: options.capture ? chunks : undefined,
      env: options.env,
      cwd: options.cwd,
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.stop("SIGKILL");
    }, options.timeoutMs ?? 60_000);
    const status = await process.status.finally(() => clearTimeout(timer));
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    chunks.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
    return {
      code: status.code,
      command: process.command,
      stdout: new TextDecoder().decode(bytes),
      timedOut,
    };
  }

  /** Every TCP and UDP socket of the lab's network (TIME_WAIT included). */
  sockets(): LabSocket[] {
    const pid = this.#anchor?.pid;
    const sockets: LabSocket[] = [];
    for (const [table, protocol, family] of TABLES) {
      let text: string;
      try {
        text = Deno.readTextFileSync(`/proc/${pid}/net/${table}`);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound && table.endsWith("6")) continue; // no IPv6
        throw error;
      }
      for (const line of text.split("\n").slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields.length < 4) continue;
        sockets.push({
          protocol,
          family,
          localPort: parseInt(fields[1]!.split(":")[1]!, 16),
          remotePort: parseInt(fields[2]!.split(":")[1]!, 16),
          state: parseInt(fields[3]!, 16),
        });
      }
    }
    return sockets;
  }

  /** `preferred` when no socket of the lab uses it, else the first such port from 20000 up. */
  freePort(preferred: number): number {
    const used = new Set(this.sockets().map((s) => s.localPort));
    if (!used.has(preferred)) return preferred;
    for (let port = 20_000; port < 32_768; port++) if (!used.has(port)) return port;
    throw new PadError("No free port between 20000 and 32767 on 127.0.0.1");
  }

  /** Waits until `test` holds for the socket table, or throws after `timeoutMs`. */
  async waitForSockets(
    what: string,
    test: (sockets: LabSocket[]) => boolean,
    timeoutMs = 10_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test(this.sockets())) {
      if (Date.now() > deadline) throw new PadError(`Timed out waiting for ${what}`);
      await sleep(50);
    }
  }

  /** Stops every process still running (SIGTERM, then SIGKILL), then removes the namespace. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#running].map((p) => p.stop()));
    if (!this.netns) return;
    // Children of the services (nginx workers) are in the namespace too: anything left there is
    // ours, started by one of the processes above.
    const left = await command(this.tools.ip, ["netns", "pids", this.netns]);
    for (const pid of left.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    const removed = await command(this.tools.ip, ["netns", "del", this.netns]);
    if (removed.code !== 0) {
      this.log(`warning: could not remove network namespace ${this.netns}: ${removed.stderr}`);
    }
  }
}

const TABLES = [
  ["tcp", "tcp", 4],
  ["tcp6", "tcp", 6],
  ["udp", "udp", 4],
  ["udp6", "udp", 6],
] as const;

/** Runs a command outside the lab, output kept. */
async function command(
  program: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const out = await new Deno.Command(program, { args, stdin: "null" }).output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  } catch (error) {
    return { code: -1, stdout: "", stderr: errorMessage(error) };
  }
}

async function drain(stream: ReadableStream<Uint8Array>, file: Deno.FsFile): Promise<void> {
  for await (const chunk of stream) {
    for (let at = 0; at < chunk.length;) at += await file.write(chunk.subarray(at));
  }
}

async function collect(stream: ReadableStream<Uint8Array>, into: Uint8Array[]): Promise<void> {
  for await (const chunk of stream) into.push(chunk);
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The services' ports on 127.0.0.1. */
export interface Services {
  /** nginx (HTTP). */
  web: number;
  redis: number;
  /** dnsmasq (UDP and TCP). */
  dns: number;
  /** nginx over TLS (a self-signed certificate): the same pages and a package pool. */
  https: number;
  /** sshd, password logins on for {@linkcode LAB_USER}. */
  ssh: number;
  /** vsftpd, local users ({@linkcode LAB_USER}) on. */
  ftp: number;
  /** A backup sink: `ncat -l -k` that discards what it receives. */
  backup: number;
  /** Where nothing answers, when the lab has a namespace: see {@linkcode UNANSWERED}. */
  unanswered: typeof UNANSWERED | null;
  /** An `SSH_ASKPASS` program that types {@linkcode LAB_USER}'s password. */
  askpass: string;
}

/**
 * The one user of sshd and vsftpd. It exists only in the lab's own /etc/passwd and /etc/shadow,
 * which are bind-mounted over this host's in a mount namespace of sshd's and vsftpd's own (see
 * {@linkcode withLabUsers}): this host's users are not touched.
 */
export const LAB_USER = { name: "deploy", uid: 4242, password: "Tr0ub4dor&3-eval" } as const;

/**
 * Where packets go unanswered (with a namespace only): lo gets the host's own address
 * 198.19.0.1/32 and a route to 198.18.0.0/16 through lo from that address. A packet to such an
 * address is looped back and, forwarding being off, dropped without an ICMP error: SYNs, UDP
 * probes and traceroute's probes sent there see no answer, as from hosts that do not exist. Both
 * are in 198.18.0.0/15, the benchmarking range, routed only inside the namespace, which has no
 * other interface: nothing can leave it.
 */
export const UNANSWERED = { source: "198.19.0.1", network: "198.18.0.0/16" } as const;

/** The package pool of the TLS server: 150 files of 4–64 KiB, as a mirror's `.deb`s. */
export const PACKAGE_POOL: readonly string[] = Array.from(
  { length: 150 },
  (_, i) => `/pool/main/pkg${String(i).padStart(3, "0")}_1.0-1_amd64.deb`,
);

/** Names the benign DNS clients ask for: a small, stable set, as a host's resolver sees. */
const NORMAL_NAMES = [
  "www.eval.test",
  "api.eval.test",
  "cdn.eval.test",
  "mail.eval.test",
  "auth.eval.test",
  "db.eval.test",
  "ntp.eval.test",
  "updates.eval.test",
  "metrics.eval.test",
  "static.eval.test",
];

/**
 * Starts, on 127.0.0.1 with configs in `<dir>/services`: nginx (HTTP, and TLS with a self-signed
 * certificate), redis-server, dnsmasq, sshd, vsftpd and a backup sink (ncat); routes
 * {@linkcode UNANSWERED} when in a namespace; waits until each listens, and checks that each
 * answers a real client (an ssh and an ftp login among them).
 */
export async function startServices(lab: Lab): Promise<Services> {
  const t = lab.tools;
  const dir = `${lab.dir}/services`;
  Deno.mkdirSync(`${dir}/www/api`, { recursive: true });
  const used = new Set<number>();
  const port = (preferred: number) => {
    let p = lab.freePort(preferred);
    while (used.has(p)) p = lab.freePort(p + 1);
    used.add(p);
    return p;
  };
  const web = port(80);
  const redis = port(6379);
  const dns = port(53);
  const https = port(443);
  const ssh = port(22);
  const ftp = port(21);
  const backup = port(873);
  if (dns !== 53) {
    lab.log(`warning: port 53 is taken: dnsmasq on ${dns}, where pad does not decode DNS names`);
  }
  writeWebContent(`${dir}/www`);
  await makeSecrets(lab, dir);
  Deno.writeTextFileSync(`${dir}/nginx.conf`, nginxConfig(dir, web, https));
  Deno.writeTextFileSync(`${dir}/sshd_config`, sshdConfig(dir, ssh));
  Deno.writeTextFileSync(`${dir}/vsftpd.conf`, vsftpdConfig(dir, ftp));
  const askpass = `${dir}/askpass`;
  Deno.writeTextFileSync(askpass, `#!/bin/sh\necho '${LAB_USER.password}'\n`, { mode: 0o700 });

  let unanswered: typeof UNANSWERED | null = null;
  if (lab.netns) {
    for (
      const argv of [
        [t.ip, "addr", "add", `${UNANSWERED.source}/32`, "dev", "lo"],
        [t.ip, "route", "add", UNANSWERED.network, "dev", "lo", "src", UNANSWERED.source],
      ]
    ) {
      const result = await lab.run("ip", argv);
      if (result.code !== 0) {
        throw new PadError(`${result.command} failed: see ${lab.logDir}/ip.log`);
      }
    }
    unanswered = UNANSWERED;
  } else {
    lab.log("warning: no namespace: the scenarios that need addresses nobody answers are skipped");
  }

  const started = [
    lab.spawn("nginx", [t.nginx, "-c", `${dir}/nginx.conf`, "-p", dir, "-e", `${dir}/error.log`]),
    lab.spawn("redis-server", [
      t["redis-server"],
      ...["--port", String(redis), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      ...["--dir", dir, "--daemonize", "no", "--pidfile", `${dir}/redis.pid`],
    ]),
    lab.spawn("dnsmasq", [
      t.dnsmasq,
      ...["--no-daemon", "--conf-file=/dev/null", `--port=${dns}`, "--no-resolv", "--no-hosts"],
      ...["--bind-interfaces", "--listen-address=127.0.0.1", "--address=/eval.test/127.0.0.1"],
      ...[`--pid-file=${dir}/dnsmasq.pid`, "--user=root", "--cache-size=1000"],
    ]),
    lab.spawn(
      "sshd",
      withLabUsers(lab, dir, ["/run/sshd"], [t.sshd, "-D", "-e", "-f", `${dir}/sshd_config`]),
    ),
    lab.spawn(
      "vsftpd",
      withLabUsers(lab, dir, ["/run/vsftpd/empty"], [t.vsftpd, `${dir}/vsftpd.conf`]),
    ),
    // A backup server's receiving end: every connection's data goes to /dev/null.
    lab.spawn("backup-sink", [
      t.ncat,
      ...["-l", "-k", "127.0.0.1", String(backup), "--sh-exec", "cat >/dev/null"],
    ]),
  ];
  const tcp = [web, https, redis, ssh, ftp, backup];
  const listening = (sockets: LabSocket[]) =>
    [
      ...tcp.map((p) =>
        sockets.some((s) =>
          s.protocol === "tcp" && s.localPort === p && s.state === TcpState.Listen
        )
      ),
      sockets.some((s) => s.protocol === "udp" && s.localPort === dns),
    ].every(Boolean) || started.some((p) => p.exited);
  await lab.waitForSockets(
    "nginx, redis-server, dnsmasq, sshd, vsftpd and the backup sink to listen",
    listening,
  );
  const dead = started.find((p) => p.exited);
  if (dead) {
    throw new PadError(`${dead.name} exited at start: see ${lab.logDir}/${dead.name}.log`);
  }

  const services: Services = {
    web,
    redis,
    dns,
    https,
    ssh,
    ftp,
    backup,
    unanswered,
    askpass,
  };
  const names = ["nginx", "redis-server", "dnsmasq", "nginx (TLS)", "sshd", "vsftpd", "the sink"];
  const checks = await Promise.all([
    lab.run("check", [t.curl, "-sSf", "-o", "/dev/null", `http://127.0.0.1:${web}/index.html`]),
    lab.run("check", [t["redis-cli"], "-h", "127.0.0.1", "-p", String(redis), "ping"]),
    lab.run("check", [
      t.dig,
      "@127.0.0.1",
      "-p",
      String(dns),
      "+short",
      "+tries=2",
      "www.eval.test",
    ]),
    lab.run("check", [t.curl, "-sSfk", "-o", "/dev/null", `https://127.0.0.1:${https}/`]),
    lab.run("check", sshLogin(lab, services, "true"), { env: askpassEnv(services) }),
    lab.run("check", ftpLogin(lab, services)),
    lab.run("check", backupCommand(lab, services, 1024)),
  ]);
  const failed = names.filter((_, i) => checks[i]!.code !== 0);
  if (failed.length > 0) {
    throw new PadError(`${failed.join(", ")} did not answer: see ${lab.logDir}/check.log`);
  }
  lab.log(
    `services on 127.0.0.1: nginx on ${web} and ${https} (TLS), redis-server on ${redis}, ` +
      `dnsmasq on ${dns}, sshd on ${ssh}, vsftpd on ${ftp}, a backup sink (ncat) on ${backup}` +
      (lab.netns
        ? ` in network namespace ${lab.netns}; ${UNANSWERED.network} routed through lo from ` +
          `${UNANSWERED.source}, unanswered`
        : ""),
  );
  return services;
}

/**
 * A TLS certificate and key for nginx, sshd's host key, the lab's /etc/passwd (this host's, the
 * system users sshd and vsftpd need, plus {@linkcode LAB_USER}) and /etc/shadow (only
 * {@linkcode LAB_USER}, with its password hashed by `openssl passwd -6`).
 */
async function makeSecrets(lab: Lab, dir: string): Promise<void> {
  const t = lab.tools;
  const results = await Promise.all([
    lab.run("secrets", [
      t.openssl,
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-days", "7", "-subj", "/CN=updates.eval.test"],
      ...["-keyout", `${dir}/tls.key`, "-out", `${dir}/tls.crt`],
    ]),
    lab.run("secrets", [
      t["ssh-keygen"],
      ...["-q", "-t", "ed25519", "-N", "", "-C", "pad-eval", "-f", `${dir}/ssh_host_ed25519_key`],
    ]),
    lab.run("secrets", [t.openssl, "passwd", "-6", LAB_USER.password], { capture: true }),
  ]);
  const hash = results[2]!.stdout.trim();
  if (results.some((r) => r.code !== 0) || !hash.startsWith("$6$")) {
    throw new PadError(`Could not make the lab's keys: see ${lab.logDir}/secrets.log`);
  }
  const { name, uid } = LAB_USER;
  const host = Deno.readTextFileSync("/etc/passwd").split("\n")
    .filter((line) => line && !line.startsWith(`${name}:`) && line.split(":")[2] !== `${uid}`);
  const home = `/run/home/${name}`;
  Deno.writeTextFileSync(
    `${dir}/passwd`,
    [...host, `${name}:x:${uid}:${uid}:pad eval:${home}:/bin/sh`].join("\n") + "\n",
  );
  Deno.writeTextFileSync(`${dir}/shadow`, `${name}:${hash}:19000:0:99999:7:::\n`, { mode: 0o600 });
}

/**
 * `argv` run with the lab's /etc/passwd and /etc/shadow and an empty /run (sshd's privilege
 * separation directory, vsftpd's empty directory, the user's home with a file in it), in a mount
 * namespace of its own (`unshare --mount`): this host's files are not touched. The two files come
 * in through an overlay on all of /etc (upper layer on the new /run), not through bind mounts on
 * the files themselves: the kernel detaches a mount whose file is replaced, as useradd replaces
 * /etc/passwd, so another program adding a user mid-run would take the lab's user away.
 */
function withLabUsers(lab: Lab, dir: string, dirs: string[], argv: string[]): string[] {
  const t = lab.tools;
  const { uid } = LAB_USER;
  const home = `/run/home/${LAB_USER.name}`;
  const etc = "/run/pad-etc";
  const script = [
    `${t.mount} -t tmpfs -o mode=755 pad-eval /run`,
    `mkdir -p ${etc}/upper ${etc}/work ${dirs.join(" ")}`,
    `cp ${quote(`${dir}/passwd`)} ${quote(`${dir}/shadow`)} ${etc}/upper/`,
    `${t.mount} -t overlay pad-etc -o lowerdir=/etc,upperdir=${etc}/upper,workdir=${etc}/work /etc`,
    `install -d -o ${uid} -g ${uid} ${home}`,
    `echo 'nothing to see' >${home}/notes.txt`,
    `exec ${argv.map(quote).join(" ")}`,
  ].join(" && ");
  return [t.unshare, "--mount", "--propagation", "private", t.sh, "-c", script];
}

function sshdConfig(dir: string, port: number): string {
  // Debian's defaults otherwise (MaxAuthTries 6, MaxStartups 10:30:100, LoginGraceTime 120).
  return `ListenAddress 127.0.0.1:${port}
HostKey ${dir}/ssh_host_ed25519_key
PidFile ${dir}/sshd.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication no
PermitRootLogin no
AllowUsers ${LAB_USER.name}
StrictModes no
X11Forwarding no
AllowTcpForwarding no
PrintMotd no
PrintLastLog no
UseDNS no
`;
}

function vsftpdConfig(dir: string, port: number): string {
  // Debian's defaults otherwise: a failed login waits 1 s, the third ends the connection. Logins
  // (OK LOGIN, FAIL LOGIN) go to vsftpd.log, where the brute force counts its attempts.
  return `listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=${port}
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=NO
pam_service_name=vsftpd
secure_chroot_dir=/run/vsftpd/empty
nopriv_user=nobody
xferlog_enable=YES
xferlog_std_format=NO
vsftpd_log_file=${dir}/vsftpd.log
dirmessage_enable=NO
`;
}

/** The environment that makes ssh type the password with {@linkcode Services.askpass}. */
export function askpassEnv(services: Services): Record<string, string> {
  return { SSH_ASKPASS: services.askpass, SSH_ASKPASS_REQUIRE: "force" };
}

/** A password login over ssh that runs `command` (with {@linkcode askpassEnv}). */
export function sshLogin(lab: Lab, services: Services, command: string): string[] {
  return [
    lab.tools.ssh,
    ...["-p", String(services.ssh), "-o", "StrictHostKeyChecking=no"],
    ...["-o", "UserKnownHostsFile=/dev/null", "-o", "PreferredAuthentications=password"],
    ...["-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"],
    `${LAB_USER.name}@127.0.0.1`,
    command,
  ];
}

/** An ftp login that asks for a file's size and date (no data connection). */
export function ftpLogin(lab: Lab, services: Services): string[] {
  return [
    lab.tools.curl,
    ...["-sS", "-I", "--max-time", "10", "--user", `${LAB_USER.name}:${LAB_USER.password}`],
    `ftp://127.0.0.1:${services.ftp}/notes.txt`,
  ];
}

/** `bytes` of zeros sent to the backup sink. */
export function backupCommand(lab: Lab, services: Services, bytes: number): string[] {
  const t = lab.tools;
  return [
    t.sh,
    "-c",
    `${t.head} -c ${bytes} /dev/zero | ${t.ncat} --send-only 127.0.0.1 ${services.backup}`,
  ];
}

function nginxConfig(dir: string, port: number, https: number): string {
  // Workers as root: the work directory may be a 0700 temporary one, unreadable to nobody.
  // Room for the connection burst (3,000 at once) besides the benign clients.
  return `daemon off;
user root;
master_process on;
worker_processes 1;
worker_rlimit_nofile 16384;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  log_not_found off;
  ${nginxTempPaths(dir)}
  keepalive_timeout 15s;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    root ${dir}/www;
    default_type text/html;
    location = /health { return 200 "ok\\n"; }
    location /api/ { default_type application/json; }
  }
  server {
    listen 127.0.0.1:${https} ssl backlog=4096;
    ssl_certificate ${dir}/tls.crt;
    ssl_certificate_key ${dir}/tls.key;
    root ${dir}/www;
    default_type text/html;
    location /api/ { default_type application/json; }
    location /pool/ { default_type application/vnd.debian.binary-package; }
  }
}
`;
}

function writeWebContent(www: string): void {
  const random = mulberry32(7);
  const text = (n: number) =>
    Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join("");
  Deno.writeTextFileSync(`${www}/index.html`, `<html><body>${text(20_000)}</body></html>\n`);
  Deno.writeTextFileSync(`${www}/about.html`, `<html><body>${text(3_000)}</body></html>\n`);
  Deno.writeTextFileSync(`${www}/app.js`, `console.log("${text(60_000)}");\n`);
  const items = Array.from({ length: 40 }, (_, id) => ({ id, name: text(12) }));
  Deno.writeTextFileSync(`${www}/api/items`, JSON.stringify(items));
  Deno.writeTextFileSync(`${www}/api/status`, JSON.stringify({ ok: true }));
  Deno.mkdirSync(`${www}/pool/main`, { recursive: true });
  for (const path of PACKAGE_POOL) {
    const bytes = new Uint8Array(4096 + Math.floor(random() * 61_440));
    for (let i = 0; i < bytes.length; i += 4) bytes[i] = Math.floor(random() * 256);
    Deno.writeFileSync(`${www}${path}`, bytes);
  }
}

/** Counts of what the benign clients did, per client. */
export type BenignSummary = Record<string, { runs: number; failed: number }>;

/** The running benign clients. */
export interface BenignLoad {
  /** Stops every client (each finishes what it is doing) and says what they did. */
  stop(): Promise<BenignSummary>;
}

/** How busy the host is at `elapsedMs`: the rates swing ±50% over a 10-minute "day". */
function busyness(elapsedMs: number): number {
  return 1 + 0.5 * Math.sin((2 * Math.PI * elapsedMs) / 600_000);
}

/**
 * Starts the benign clients, each a loop with random (exponential) pauses whose mean follows
 * {@linkcode busyness}:
 * - a browser-like curl fetching 1–4 pages over one keep-alive connection, every ~4 s;
 * - single curl requests with `Connection: close` (a health checker, an API poller), every ~1.5 s;
 * - a steady redis-cli holding one connection, 1–3 commands every ~0.8 s;
 * - redis-benchmark bursts (200–1,000 requests over 2–6 connections), every ~40 s;
 * - dig asking dnsmasq for 1–2 usual names, every ~2 s;
 * - curl fetching 1–3 pages from nginx over TLS on one connection, every ~10 s;
 * - an ssh password login that runs `uptime`, and an ftp login that asks for a file's size,
 *   each every ~60 s (so sshd and vsftpd are not only ever reached by attackers);
 * - a small backup, 256 KiB–8 MiB to the backup sink, every ~60 s.
 *
 * The last four draw from a generator of their own, so the first five keep their schedule.
 */
export function startBenignLoad(lab: Lab, services: Services, seed = 1): BenignLoad {
  const t = lab.tools;
  const random = mulberry32(seed);
  const more = mulberry32(seed + 1_000);
  const started = Date.now();
  const stopping = new AbortController();
  const summary: BenignSummary = {};
  const web = `http://127.0.0.1:${services.web}`;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));

  const loop = async (
    name: string,
    meanMs: number,
    argv: () => string[],
    draw = random,
    env?: Record<string, string>,
  ) => {
    const counts = summary[name] = { runs: 0, failed: 0 };
    while (!stopping.signal.aborted) {
      const pause = -Math.log(1 - draw()) * meanMs / busyness(Date.now() - started);
      await sleep(pause, stopping.signal);
      if (stopping.signal.aborted) break;
      const result = await lab.run(name, argv(), { timeoutMs: 20_000, env });
      counts.runs++;
      if (result.code !== 0) {
        if (counts.failed++ === 0) {
          lab.log(`warning: benign ${name} exited ${result.code}: see ${lab.logDir}/${name}.log`);
        }
      }
    }
  };

  const pages = ["/", "/about.html", "/app.js", "/api/items", "/api/status", "/missing"];
  const loops = [
    loop("curl-keepalive", 4_000, () => {
      const urls = Array.from({ length: between(1, 4) }, () => web + pick(pages));
      return [t.curl, "-sS", ...urls.flatMap((url) => ["-o", "/dev/null", url])];
    }),
    loop("curl-close", 1_500, () => [
      t.curl,
      ...["-sS", "-o", "/dev/null", "-H", "Connection: close"],
      web + pick(["/health", "/api/status", "/api/items", "/"]),
    ]),
    loop("redis-benchmark", 40_000, () => [
      t["redis-benchmark"],
      ...["-h", "127.0.0.1", "-p", String(services.redis), "-q"],
      ...["-n", String(between(2, 10) * 100), "-c", String(between(2, 6)), "-t", "set,get,lpush"],
    ]),
    loop("dig", 2_000, () => [
      t.dig,
      ...["@127.0.0.1", "-p", String(services.dns), "+short", "+tries=1", "+time=2"],
      ...Array.from({ length: between(1, 2) }, () => pick(NORMAL_NAMES)),
    ]),
    steadyRedis(lab, services.redis, random, started, stopping.signal, summary),
    loop("curl-https", 10_000, () => {
      const urls = Array.from(
        { length: 1 + Math.floor(more() * 3) },
        () => `https://127.0.0.1:${services.https}${pages[Math.floor(more() * 5)]}`,
      );
      return [t.curl, "-sSk", ...urls.flatMap((url) => ["-o", "/dev/null", url])];
    }, more),
    loop("ssh-login", 60_000, () => sshLogin(lab, services, "uptime"), more, askpassEnv(services)),
    loop("ftp-login", 60_000, () => ftpLogin(lab, services), more),
    loop(
      "backup-small",
      60_000,
      () => backupCommand(lab, services, 262_144 * (1 + Math.floor(more() * 32))),
      more,
    ),
  ];
  lab.log(
    "benign load: curl (keep-alive and Connection: close) on nginx, a steady redis-cli and " +
      "redis-benchmark bursts on redis, dig on dnsmasq, curl over TLS, ssh and ftp logins, " +
      "small backups; rates swing ±50% over 10 minutes",
  );
  return {
    async stop() {
      stopping.abort();
      await Promise.all(loops);
      return summary;
    },
  };
}

/** One long-lived redis-cli (an application's connection), fed commands through its stdin. */
async function steadyRedis(
  lab: Lab,
  port: number,
  random: () => number,
  started: number,
  signal: AbortSignal,
  summary: BenignSummary,
): Promise<void> {
  const counts = summary["redis-cli"] = { runs: 0, failed: 0 };
  const encoder = new TextEncoder();
  while (!signal.aborted) {
    const client = lab.spawn("redis-cli", [
      lab.tools["redis-cli"],
      "-h",
      "127.0.0.1",
      "-p",
      `${port}`,
    ], {
      stdin: "piped",
    });
    const writer = client.stdin!.getWriter();
    try {
      while (!signal.aborted && !client.exited) {
        await sleep(-Math.log(1 - random()) * 800 / busyness(Date.now() - started), signal);
        if (signal.aborted) break;
        const key = `session:${Math.floor(random() * 50)}`;
        const commands = [
          `SET ${key} ${Math.floor(random() * 1e9)} EX 120`,
          `GET ${key}`,
          "INCR requests",
          `LPUSH events ${Date.now()}`,
          "LTRIM events 0 99",
        ].slice(0, 1 + Math.floor(random() * 3));
        await writer.write(encoder.encode(commands.join("\n") + "\n"));
        counts.runs++;
      }
    } catch (error) {
      lab.log(`warning: the steady redis-cli failed (${errorMessage(error)}): starting another`);
    } finally {
      await writer.close().catch(() => {});
      await client.stop("SIGTERM", 2_000);
    }
    if (!signal.aborted) {
      // It exited on its own (redis gone?): count it, and do not respawn in a tight loop.
      counts.failed++;
      await sleep(1_000, signal);
    }
  }
}

/** nginx's temporary directories, under `dir` (an unprivileged eval cannot use /var/lib/nginx). */
export function nginxTempPaths(dir: string): string {
  return ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((kind) => `${kind}_temp_path ${dir}/tmp_${kind === "client_body" ? "body" : kind};`)
    .join("\n  ");
}
