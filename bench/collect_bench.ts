/**
 * What `pad collect` and `pad import` cost, printed (not asserted):
 * 1. CPU (user + sys) and peak RSS of one `pad collect` round on `lo`, for `--probe listen` and
 *    `--probe procfs` at their default `--interval`, with capture and with `--no-capture`, while
 *    ~100 UDP datagrams/s flow on loopback (python3 child, half to 127.0.0.1, half to ::1);
 * 2. import throughput: a capture made by tcpdump on `lo` (python3 senders to 127.0.0.1), read by
 *    `pad import` end to end (decode + aggregation + SQLite storage), `tcpdump -r -n` and, on a
 *    20,000-packet slice, `tshark -T pdml`.
 *
 * Run as root (capture on lo), on an otherwise idle machine; about 4 × N s plus ~30 s:
 *
 *     deno run -A --unstable-net bench/collect_bench.ts [--seconds N] [--packets N]
 *
 * `--seconds` is each collect round's `--duration` (default 55); `--packets` the size of the
 * capture to import (default 1,000,000). Every pad run is its own process, measured by GNU time
 * (`/usr/bin/time -f "%e %U %S %M"`): the figures include Deno's start-up, shown on its own too.
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;
const TRAFFIC_PY = new URL("./support/udp_traffic.py", import.meta.url).pathname;
/** `deno task pad` without the task runner's shell, so GNU time measures pad itself. */
const PAD = [Deno.execPath(), "run", "--unstable-net", "--allow-all", MAIN];
const BACKGROUND_RATE = 100;
const IMPORT_SENDERS = 2;
const SLICE_PACKETS = 20_000;
const RUNS = 3;

interface Options {
  seconds: number;
  packets: number;
}

interface Measured {
  wallS: number;
  cpuS: number;
  rssMiB: number;
  stdout: string;
  stderr: string;
}

function parseOptions(): Options {
  const read = (name: string, fallback: number): number => {
    const at = Deno.args.indexOf(name);
    if (at < 0) return fallback;
    const value = Number(Deno.args[at + 1]);
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer: got "${Deno.args[at + 1]}"`);
    }
    return value;
  };
  return { seconds: read("--seconds", 55), packets: read("--packets", 1_000_000) };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const int = (n: number) => Math.round(n).toLocaleString("en");
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

interface RunOptions {
  stdout?: "piped" | "null";
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

/** Runs `command` under GNU time; throws if it fails. Wall time is taken here (sub-ms). */
async function measure(
  command: string[],
  { stdout = "piped", env }: RunOptions = {},
): Promise<Measured> {
  const timeFile = Deno.makeTempFileSync({ prefix: "pad_bench_time_" });
  try {
    const started = performance.now();
    const output = await new Deno.Command("/usr/bin/time", {
      args: ["-o", timeFile, "-f", "%e %U %S %M", ...command],
      stdout,
      env,
      stderr: "piped",
    }).output();
    const wallS = (performance.now() - started) / 1000;
    const stderr = text(output.stderr);
    if (!output.success) {
      throw new Error(`${command.join(" ")} failed (exit ${output.code}): ${stderr.trim()}`);
    }
    // The last line: GNU time puts "Command exited with non-zero status" lines before it.
    const last = Deno.readTextFileSync(timeFile).trim().split("\n").pop()!;
    const [, user, sys, maxRssKiB] = last.split(" ").map(Number);
    return {
      wallS,
      cpuS: user! + sys!,
      rssMiB: maxRssKiB! / 1024,
      stdout: stdout === "piped" ? text(output.stdout).trim() : "",
      stderr: stderr.trim(),
    };
  } finally {
    Deno.removeSync(timeFile);
  }
}

async function run(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stderr: "piped" }).output();
  if (!output.success) throw new Error(`${command} failed: ${text(output.stderr).trim()}`);
  return text(output.stdout).trim();
}

async function printMachine(): Promise<void> {
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown";
  console.log(`# pad collect/import bench, ${new Date().toISOString()}`);
  console.log(
    `machine: ${await run("nproc", [])} cores (nproc), ${model}, ${
      Math.round(Deno.systemMemoryInfo().total / 2 ** 30)
    } GiB RAM, kernel ${Deno.osRelease()}`,
  );
  console.log(`deno ${Deno.version.deno}, v8 ${Deno.version.v8}; git ${await gitHead()}\n`);
}

async function gitHead(): Promise<string> {
  try {
    const head = await run("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]);
    const dirty = await run("git", ["-C", ROOT, "status", "--porcelain"]);
    return dirty ? `${head} (work tree modified)` : head;
  } catch {
    return "unknown";
  }
}

function cpuLine(label: string, m: Measured): string {
  const share = m.cpuS / m.wallS;
  return `${label.padEnd(34)} wall ${m.wallS.toFixed(1).padStart(5)} s  CPU ${
    m.cpuS.toFixed(2).padStart(5)
  } s = ${(share * 60).toFixed(2).padStart(5)} CPU s/min = ${
    (share * 100).toFixed(1).padStart(4)
  }% of one core  peak RSS ${m.rssMiB.toFixed(0).padStart(3)} MiB`;
}

/** The python3 child that keeps ~`rate` datagrams/s on loopback until `stop()`. */
function startBackgroundTraffic(rate: number) {
  const child = new Deno.Command("python3", {
    args: [TRAFFIC_PY, "paced", String(rate)],
    stdout: "piped",
  }).spawn();
  const started = performance.now();
  return {
    async stop(): Promise<{ sent: number; seconds: number }> {
      child.kill("SIGTERM");
      const output = await child.output();
      return {
        sent: Number(text(output.stdout).trim()),
        seconds: (performance.now() - started) / 1000,
      };
    },
  };
}

/** Part 1: one `pad collect` round per probe, with and without capture. */
async function benchCollect(dir: string, seconds: number): Promise<void> {
  console.log(
    `## 1. one \`pad collect\` round: --duration ${seconds}s, default --interval, ` +
      `${BACKGROUND_RATE} UDP datagrams/s on lo in the background`,
  );
  console.log(
    "CPU = user + sys of the whole pad process (all threads: capture worker, SQLite); " +
      "CPU s/min and % of one core are CPU / wall.",
  );
  // Warm Deno's module cache (main.ts and the capture worker), so no run pays for transpiling.
  await measure([
    ...PAD,
    "--db",
    `${dir}/warm.db`,
    "collect",
    "--interface",
    "lo",
    "--duration",
    "1s",
  ]);
  const startup = await measure([...PAD, "--db", `${dir}/init.db`, "init"]);
  console.log(
    `start-up alone (pad init, fresh DB): wall ${startup.wallS.toFixed(2)} s, ` +
      `CPU ${startup.cpuS.toFixed(2)} s, peak RSS ${startup.rssMiB.toFixed(0)} MiB`,
  );

  const traffic = startBackgroundTraffic(BACKGROUND_RATE);
  try {
    for (const probe of ["listen", "procfs"]) {
      const withCapture = await collectRound(dir, probe, seconds, true);
      const without = await collectRound(dir, probe, seconds, false);
      const cpuS = withCapture.cpuS - without.cpuS;
      console.log(
        `    => capture on lo costs ${cpuS.toFixed(2)} CPU s a round (${
          (cpuS / withCapture.wallS * 100).toFixed(1)
        }% of one core) and ${(withCapture.rssMiB - without.rssMiB).toFixed(0)} MiB of RSS`,
      );
    }
  } finally {
    const { sent, seconds: trafficSeconds } = await traffic.stop();
    console.log(
      `background traffic: ${int(sent)} datagrams in ${trafficSeconds.toFixed(0)} s ` +
        `(${(sent / trafficSeconds).toFixed(1)}/s)\n`,
    );
  }
}

async function collectRound(
  dir: string,
  probe: string,
  seconds: number,
  capture: boolean,
): Promise<Measured> {
  const db = `${dir}/collect-${probe}-${capture ? "capture" : "nocapture"}.db`; // fresh
  const args = ["--db", db, "collect", "--probe", probe, "--duration", `${seconds}s`];
  args.push(...(capture ? ["--interface", "lo"] : ["--no-capture"]));
  const m = await measure([...PAD, ...args]);
  console.log(cpuLine(`${probe}, ${capture ? "capture on lo" : "--no-capture"}`, m));
  console.log(`    pad: ${m.stdout}${m.stderr ? `\n    stderr: ${m.stderr}` : ""}`);
  return m;
}

interface TcpdumpStats {
  captured: number;
  received: number;
  dropped: number;
}

/** Reads `stream` until its text contains `marker`; `done` resolves to all of it at its end. */
async function readUntil(
  stream: ReadableStream<Uint8Array>,
  marker: string,
): Promise<{ done: Promise<string> }> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`tcpdump exited before "${marker}": ${seen.trim()}`);
    seen += value;
  }
  const done = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return seen;
      seen += value;
    }
  })();
  return { done };
}

/** Captures `packets` UDP datagrams to a local port with tcpdump into `path`. */
async function captureWithTcpdump(path: string, packets: number): Promise<TcpdumpStats> {
  // A sink that is never read: the kernel drops what overflows it, and no ICMP is sent back.
  const sink = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    return await tcpdumpWhileSending(path, (sink.addr as Deno.NetAddr).port, packets);
  } finally {
    sink.close();
  }
}

async function tcpdumpWhileSending(
  path: string,
  port: number,
  packets: number,
): Promise<TcpdumpStats> {
  // -Z root: Debian's tcpdump otherwise drops to user tcpdump before creating the file.
  const tcpdump = new Deno.Command("tcpdump", {
    args: ["-i", "lo", "-w", path, "-s", "262144", "-Z", "root", "udp", "port", String(port)],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = await readUntil(tcpdump.stderr, "listening on");
  const started = performance.now();
  const sent = await sendBurst(port, packets);
  const sendS = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 1000)); // let tcpdump drain its buffer
  tcpdump.kill("SIGINT");
  await tcpdump.status;
  const report = await stderr.done;
  const stat = (what: string) => Number(new RegExp(`(\\d+) packets? ${what}`).exec(report)?.[1]);
  const stats = {
    captured: stat("captured"),
    received: stat("received by filter"),
    dropped: stat("dropped by kernel"),
  };
  const ok = stats.dropped === 0 && stats.captured === sent;
  console.log(
    `capture: ${IMPORT_SENDERS} python3 senders sent ${int(sent)} datagrams to 127.0.0.1:${port} ` +
      `in ${sendS.toFixed(1)} s; tcpdump: ${int(stats.captured)} captured, ${
        int(stats.received)
      } received by filter (lo shows each packet twice), ${stats.dropped} dropped by kernel` +
      (ok ? " (OK)" : " (WARNING: packets lost)"),
  );
  return stats;
}

/** `packets` datagrams to 127.0.0.1:`port` from `IMPORT_SENDERS` python3 processes at once. */
async function sendBurst(port: number, packets: number): Promise<number> {
  const share = Math.ceil(packets / IMPORT_SENDERS);
  const counts = await Promise.all(
    Array.from({ length: IMPORT_SENDERS }, (_, i) => {
      const count = Math.max(0, Math.min(share, packets - i * share));
      return run("python3", [TRAFFIC_PY, "burst", String(port), String(count)]);
    }),
  );
  return counts.reduce((sum, c) => sum + Number(c), 0);
}

interface Rate {
  wallS: number;
  perSecond: number;
}

/** Median wall time of `RUNS` runs of `command()` over `packets` packets, and the last run. */
async function rateOf(
  packets: number,
  command: () => string[],
  { stdout = "null", env }: RunOptions = {},
): Promise<Rate & { last: Measured }> {
  const runs: Measured[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await measure(command(), { stdout, env }));
  const wallS = median(runs.map((m) => m.wallS));
  return { wallS, perSecond: packets / wallS, last: runs.at(-1)! };
}

function rateLine(label: string, packets: number, rate: Rate, extra = ""): string {
  return `${label.padEnd(44)} ${int(packets).padStart(9)} packets in ${
    rate.wallS.toFixed(2).padStart(6)
  } s = ${int(rate.perSecond).padStart(9)} packets/s${extra}`;
}

interface StoredRound {
  packets_seen: number;
  packets_stored: number;
}

/** pad's own figures, from its summary line and the rounds it stored; checked against tcpdump. */
async function padImportSummary(db: string, stdout: string, captured: number): Promise<string> {
  const own = /(\d+) IP packets of (\d+) frames.* ([\d.]+) s, (\d+) packets\/s/.exec(stdout);
  const [ip, frames, seconds, perSecond] = (own ?? []).slice(1).map(Number);
  const inspect = ["--db", db, "inspect", "rounds", "--format", "json", "--limit", "0"];
  const json = await run(PAD[0]!, [...PAD.slice(1), ...inspect]);
  const rounds: StoredRound[] = json.split("\n").map((line) => JSON.parse(line));
  const seen = rounds.reduce((sum, r) => sum + r.packets_seen, 0);
  const stored = rounds.reduce((sum, r) => sum + r.packets_stored, 0);
  const check = ip === captured && seen === captured
    ? "= tcpdump's count"
    : `MISMATCH with tcpdump's ${int(captured)}`;
  return [
    `    pad says: ${ip} IP packets of ${frames} frames (${check})`,
    `in ${seconds} s = ${int(perSecond ?? NaN)} packets/s (its import loop alone);`,
    `stored ${rounds.length} rounds, packets_seen ${int(seen)}, ${int(stored)} packet rows`,
  ].join(" ");
}

/**
 * glibc stats /etc/localtime for every timestamp tcpdump and tshark format when TZ is unset:
 * one syscall a packet, most of tcpdump's time here. TZ=UTC gives them their best case.
 */
const UTC = { TZ: "UTC" };
const TZ_NOW = `TZ ${Deno.env.get("TZ") ?? "unset"}`;

/** Part 2: pad import against tcpdump and tshark on a capture made by tcpdump. */
async function benchImport(dir: string, packets: number): Promise<void> {
  console.log(`## 2. import throughput (wall time of the whole process, median of ${RUNS} runs)`);
  const file = `${dir}/big.pcap`;
  const stats = await captureWithTcpdump(file, packets);
  console.log(`file: ${file}, ${(Deno.statSync(file).size / 2 ** 20).toFixed(0)} MiB`);
  const whole = await importWholeFile(dir, file, stats.captured);
  const slice = await importSlice(dir, file);
  const ratio = (pad: Rate, other: Rate) => (pad.perSecond / other.perSecond).toFixed(2) + "×";
  console.log(
    `ratios of packets/s, whole file: pad/tcpdump ${ratio(whole.pad, whole.tcpdumpUtc)} ` +
      `(TZ=UTC), ${ratio(whole.pad, whole.tcpdump)} (${TZ_NOW}); pad (whole file)/tshark ` +
      `(slice) ${ratio(whole.pad, slice.tshark)}; on the slice alone pad/tshark ${
        ratio(slice.pad, slice.tshark)
      }`,
  );
}

/** A fresh database for every run of `pad import path`. */
function padImport(dir: string, path: string): { db: () => string; command: () => string[] } {
  let db = "";
  return {
    db: () => db,
    command: () => {
      db = `${dir}/import-${crypto.randomUUID()}.db`;
      return [...PAD, "--db", db, "import", path];
    },
  };
}

async function importWholeFile(dir: string, file: string, captured: number) {
  const padRun = padImport(dir, file);
  const pad = await rateOf(captured, padRun.command, { stdout: "piped" });
  const label = "pad import (decode+aggregate+SQLite)";
  console.log(rateLine(label, captured, pad, `, peak RSS ${pad.last.rssMiB.toFixed(0)} MiB`));
  console.log(await padImportSummary(padRun.db(), pad.last.stdout, captured));
  const tcpdumpArgs = () => ["tcpdump", "-r", file, "-n"];
  const tcpdump = await rateOf(captured, tcpdumpArgs);
  console.log(rateLine(`tcpdump -r FILE -n > /dev/null, ${TZ_NOW}`, captured, tcpdump));
  const tcpdumpUtc = await rateOf(captured, tcpdumpArgs, { env: UTC });
  console.log(rateLine("TZ=UTC tcpdump -r FILE -n > /dev/null", captured, tcpdumpUtc));
  return { pad, tcpdump, tcpdumpUtc };
}

async function importSlice(dir: string, file: string) {
  const slice = `${dir}/slice.pcap`;
  await run("editcap", ["-r", file, slice, `1-${SLICE_PACKETS}`]);
  const counted = await run("capinfos", ["-c", "-M", slice]);
  const packets = Number(/Number of packets:\s*(\d+)/.exec(counted)?.[1]);
  const tsharkArgs = () => ["tshark", "-r", slice, "-T", "pdml"];
  const tshark = await rateOf(packets, tsharkArgs, { env: UTC });
  console.log(rateLine("TZ=UTC tshark -r SLICE -T pdml > /dev/null", packets, tshark));
  const pad = await rateOf(packets, padImport(dir, slice).command, { stdout: "piped" });
  console.log(rateLine("pad import SLICE (start-up dominates)", packets, pad));
  const tcpdump = await rateOf(packets, () => ["tcpdump", "-r", slice, "-n"], { env: UTC });
  console.log(rateLine("TZ=UTC tcpdump -r SLICE -n > /dev/null", packets, tcpdump));
  return { pad, tshark };
}

const options = parseOptions();
const dir = Deno.makeTempDirSync({ prefix: "pad_collect_bench_" });
try {
  await printMachine();
  await benchCollect(dir, options.seconds);
  await benchImport(dir, options.packets);
} finally {
  Deno.removeSync(dir, { recursive: true });
}
