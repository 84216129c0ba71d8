/**
 * Probe costs: wall time and CPU seconds of full sweeps (ports 1–65535) by the listen and procfs
 * probes, next to the original's Python `socket.bind` sweep of IPv4 TCP, measured in the same
 * run; then the CPU share of a `collect` round for a range of `--interval` values.
 *
 *     deno run --unstable-net -A bench/probe_bench.ts [--runs N]
 *
 * CPU comes from utime + stime in /proc/self/stat (all threads, 10 ms ticks), so it is Linux only.
 *
 * @module
 */

import { ListenProbe, type Probe, ProcfsProbe, type Target } from "../src/probe/mod.ts";

/** A `collect` round: sweeps must start and end inside it; cron starts one every minute. */
const ROUND_SECONDS = 55;
/** The original: a sweep, then 5 s pause, IPv4 TCP only; about 15% of a core by its README. */
const ORIGINAL_PAUSE_SECONDS = 5;
/** "Light background job": at most half the original's share, for four times the targets. */
const CPU_BUDGET_PERCENT = 7.5;
/** And at least this many sweeps per round, so a port busy for half the round is caught. */
const MIN_SWEEPS = 2;
// USER_HZ, the unit of /proc/<pid>/stat times, is 100 on every Linux architecture.
const TICKS_PER_SECOND = 100;

interface Figure {
  label: string;
  wallSeconds: number;
  cpuSeconds: number;
}

const runs = readRuns();
// A procfs sweep takes milliseconds, under the 10 ms CPU tick: average many more of them.
const procfsRuns = runs * 50;

function readRuns(): number {
  const index = Deno.args.indexOf("--runs");
  const runs = index < 0 ? 3 : Number(Deno.args[index + 1]);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new RangeError(`--runs must be a positive integer: got "${Deno.args[index + 1]}"`);
  }
  return runs;
}

/** CPU seconds this process has used, all threads. */
function cpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  // Fields after the command, which may hold spaces and parentheses; utime and stime are 14, 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function measure(
  label: string,
  probe: Probe,
  targets?: Target[],
  repeat = runs,
): Promise<Figure> {
  await probe.sweep({ targets }); // warm-up: JIT, page cache
  const walls: number[] = [];
  let cpu = 0;
  for (let run = 0; run < repeat; run++) {
    const cpuBefore = cpuSeconds();
    const result = await probe.sweep({ targets });
    cpu += cpuSeconds() - cpuBefore;
    walls.push(result.durationMs / 1000);
  }
  return { label, wallSeconds: median(walls), cpuSeconds: cpu / repeat };
}

const PYTHON_SWEEP = `
import json, os, socket, time
wall, cpu = [], []
for _ in range(int(os.environ["RUNS"])):
    t, c = time.perf_counter(), os.times()
    for port in range(1, 65536):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            pass
        s.close()
    d = os.times()
    wall.append(time.perf_counter() - t)
    cpu.append(d.user + d.system - c.user - c.system)
wall.sort()
print(json.dumps({"wall": wall[len(wall) // 2], "cpu": sum(cpu) / len(cpu)}))
`;

/** The original's sweep, timed inside Python so interpreter start-up is left out. */
async function measurePython(): Promise<Figure | string> {
  try {
    const output = await new Deno.Command("python3", {
      args: ["-c", PYTHON_SWEEP],
      env: { RUNS: String(runs) },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) return `python3 failed: ${new TextDecoder().decode(output.stderr)}`;
    const { wall, cpu } = JSON.parse(new TextDecoder().decode(output.stdout));
    return { label: "python socket.bind tcp4 (original)", wallSeconds: wall, cpuSeconds: cpu };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "python3 not found: no anchor";
    throw error;
  }
}

/** Sweeps that fit in a round when each is followed by `interval` seconds of pause. */
function sweepsPerRound(sweepSeconds: number, interval: number): number {
  let count = 0;
  for (let start = 0; start + sweepSeconds <= ROUND_SECONDS; start += sweepSeconds + interval) {
    count++;
  }
  return Math.max(count, 1);
}

/** Percent of one core per minute (one round a minute). */
function cpuPercent(figure: Figure, interval: number): number {
  return sweepsPerRound(figure.wallSeconds, interval) * figure.cpuSeconds / 60 * 100;
}

function row(cells: (string | number)[], widths: number[]): string {
  return cells.map((cell, i) => String(cell).padEnd(widths[i]!)).join("  ").trimEnd();
}

console.log(
  `Sweeps of ports 1–65535, median wall / mean CPU over ${runs} runs (procfs: ${procfsRuns})`,
);
console.log(`deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores\n`);

const listen = new ListenProbe();
const procfs = new ProcfsProbe();
const figures: Figure[] = [];
for (const [protocol, family] of [["tcp", 4], ["tcp", 6], ["udp", 4], ["udp", 6]] as const) {
  figures.push(await measure(`listen ${protocol}${family}`, listen, [{ protocol, family }]));
}
const listenAll = await measure("listen all four", listen);
const procfsAll = await measure("procfs all four", procfs, undefined, procfsRuns);
figures.push(listenAll);
for (const [protocol, family] of [["tcp", 4], ["tcp", 6], ["udp", 4], ["udp", 6]] as const) {
  const targets = [{ protocol, family }];
  figures.push(await measure(`procfs ${protocol}${family}`, procfs, targets, procfsRuns));
}
figures.push(procfsAll);
const python = await measurePython();
if (typeof python !== "string") figures.push(python);

const widths = [36, 10, 10];
console.log(row(["sweep", "wall ms", "CPU ms"], widths));
for (const f of figures) {
  const ms = (seconds: number) => (seconds * 1000).toFixed(1);
  console.log(row([f.label, ms(f.wallSeconds), ms(f.cpuSeconds)], widths));
}
if (typeof python === "string") console.log(python);

console.log(
  `\nCPU per minute (% of one core) by --interval (pause after each sweep), ${ROUND_SECONDS} s round`,
);
const intervals = [5, 10, 15, 20, 25, 30, 40, 55];
const rowWidths = [36, ...intervals.map(() => 6)];
console.log(row(["interval s", ...intervals], rowWidths));
const shares = (figure: Figure) => intervals.map((i) => cpuPercent(figure, i).toFixed(1));
console.log(row(["listen all four", ...shares(listenAll)], rowWidths));
console.log(row(["procfs all four", ...shares(procfsAll)], rowWidths));
if (typeof python !== "string") {
  console.log(row(["python tcp4 (original)", ...shares(python)], rowWidths));
  console.log(
    `original (${ORIGINAL_PAUSE_SECONDS} s pause): ${
      cpuPercent(python, ORIGINAL_PAUSE_SECONDS).toFixed(1)
    }% of a core for IPv4 TCP alone`,
  );
}

/** The shortest interval within budget that still sweeps `MIN_SWEEPS` times a round. */
function recommend(figure: Figure): number | undefined {
  for (let interval = 0; interval <= ROUND_SECONDS; interval++) {
    if (sweepsPerRound(figure.wallSeconds, interval) < MIN_SWEEPS) return undefined;
    if (cpuPercent(figure, interval) <= CPU_BUDGET_PERCENT) return interval;
  }
  return undefined;
}

for (const [name, figure] of [["listen", listenAll], ["procfs", procfsAll]] as const) {
  // procfs is so cheap that the budget allows any interval: 5 s, the original's pause, is plenty.
  const interval = name === "procfs" ? Math.max(recommend(figure) ?? 0, 5) : recommend(figure);
  if (interval === undefined) {
    console.log(`${name}: no interval gives ${MIN_SWEEPS} sweeps within ${CPU_BUDGET_PERCENT}%`);
    continue;
  }
  console.log(
    `recommended --interval for ${name}: ${interval} s → ${
      sweepsPerRound(figure.wallSeconds, interval)
    } sweeps per round, ${cpuPercent(figure, interval).toFixed(1)}% of one core per minute`,
  );
}
