/**
 * What a `pad collect` round costs: CPU (user + sys) and peak RSS of the whole process, for
 * `--probe procfs` and `--probe listen` at their default `--interval`, with capture on `lo` and
 * with `--no-capture`, while light traffic flows on loopback (100 UDP datagrams/s from a python3
 * child, half to 127.0.0.1, half to ::1; the capture filter selects that traffic alone, so other
 * loopback traffic on a shared machine does not count).
 *
 * Anchors, measured in the same run:
 * - CPU: the original's scanner, a Python `socket.bind` sweep of IPv4 TCP then 5 s of pause, back
 *   to back for a minute (bench/support/python_sweep.py), as CPU seconds per minute;
 * - memory: the original's collect, its Python scanner plus pyshark's engine
 *   (`tshark -l -n -T pdml -i lo`, on the same traffic for a round), peak RSS of the two summed
 *   (pyshark's own XML parsing in Python comes on top: the anchor is a lower bound).
 *
 * Run as root (capture on lo), on an otherwise idle machine; about 4 × (N + 2) s:
 *
 *     deno run -A --unstable-net bench/collect_bench.ts [--seconds N] [--quick]
 *
 * `--seconds` is each round's `--duration` (default 55, what cron gets; `--quick` 10). Every pad
 * run is its own process, measured by GNU time (`/usr/bin/time -f "%e %U %S %M"`): the figures
 * include Deno's start-up. A round a minute, so a round's CPU is collect's CPU per minute.
 *
 * Start-up: the read-only commands a person types (`pad --help`, `pad status`, `pad inspect` on
 * the procfs round's database), CPU and peak RSS, median of 5 runs each.
 *
 * @module
 */

import { freeUdpPort, pacedTraffic } from "./support/loopback.ts";
import { int, intFlag, median, PAD, progress, type Timed, timed } from "./support/measure.ts";
import { originalScannerCpuPerMinute, pythonSweeps } from "./support/python_sweep.ts";
import { emitResult, lowerIsBetter } from "./support/result.ts";

const SECONDS = intFlag("--seconds", 55, 10);
/** Sweeps of the anchor's Python scanner. */
const PYTHON_RUNS = intFlag("--runs", 3, 1);
const TRAFFIC_RATE = 100;
/** The targets: CPU (issue 2), peak RSS and start-up (issue 13, "a lighter client"). */
const CPU_TARGET_PERCENT = 2;
const RSS_TARGET_MIB = { capture: 80, nocapture: 60 };
const STARTUP_TARGET_CPU_S = 0.12;
const STARTUP_RUNS = 5;

/** CPU seconds per minute of cron: a round of `SECONDS` every minute. */
function perMinute(cpuS: number): number {
  // A 55 s round is the minute's whole work; a shorter (--quick) one is scaled to a minute.
  return SECONDS >= 55 ? cpuS : cpuS * 60 / (SECONDS + 5);
}

function describe(label: string, m: Timed): string {
  const minute = perMinute(m.cpuS);
  return `${label.padEnd(26)} wall ${m.wallS.toFixed(1).padStart(5)} s  CPU ${
    m.cpuS.toFixed(2).padStart(5)
  } s → ${minute.toFixed(2).padStart(5)} CPU s/min = ${
    (minute / 60 * 100).toFixed(1).padStart(4)
  }% of one core  peak RSS ${m.rssMiB.toFixed(0).padStart(3)} MiB`;
}

async function collectRound(
  dir: string,
  probe: string,
  capture: boolean,
  filter: string,
): Promise<Timed> {
  const db = `${dir}/collect-${probe}-${capture}.db`; // fresh
  const args = ["--db", db, "collect", "--probe", probe, "--duration", `${SECONDS}s`];
  args.push(...(capture ? ["--interface", "lo", "--filter", filter] : ["--no-capture"]));
  const m = await timed([...PAD, ...args]);
  console.log(describe(`${probe}, ${capture ? "capture on lo" : "--no-capture"}`, m));
  console.log(`    pad: ${m.stdout}${m.stderr ? `\n    stderr: ${m.stderr}` : ""}`);
  return m;
}

/** pyshark's engine on the same traffic for one round, as pyshark's LiveCapture starts it. */
function tsharkRound(filter: string): Promise<Timed> {
  return timed(
    ["tshark", "-l", "-n", "-T", "pdml", "-i", "lo", "-f", filter, "-a", `duration:${SECONDS}`],
    { discardStdout: true, env: { TZ: "UTC" } },
  );
}

const dir = Deno.makeTempDirSync({ prefix: "pad_collect_bench_" });
try {
  progress("warming Deno's module cache (one short round)");
  await timed([
    ...PAD,
    "--db",
    `${dir}/warm.db`,
    "collect",
    "--interface",
    "lo",
    "--duration",
    "1s",
  ]);
  const startup = await timed([...PAD, "--db", `${dir}/init.db`, "init"]);
  progress("the original's scanner: Python socket.bind sweeps of tcp4");
  const python = (await pythonSweeps(PYTHON_RUNS, ["tcp4"])).tcp4;
  const anchorCpu = originalScannerCpuPerMinute(python);

  console.log(
    `## one \`pad collect\` round: --duration ${SECONDS}s, default --interval, ${TRAFFIC_RATE} ` +
      "UDP datagrams/s on lo (capture filtered to that traffic)",
  );
  console.log(
    `start-up alone (pad init, fresh DB): wall ${startup.wallS.toFixed(2)} s, CPU ${
      startup.cpuS.toFixed(2)
    } s, peak RSS ${startup.rssMiB.toFixed(0)} MiB`,
  );
  const port = freeUdpPort();
  const filter = `udp port ${port}`;
  const traffic = pacedTraffic(TRAFFIC_RATE, port);
  const rounds: Record<string, Timed> = {};
  let tshark: Timed | undefined;
  try {
    for (const probe of ["procfs", "listen"]) {
      progress(`${probe}, capture on lo: ${SECONDS} s`);
      rounds[`${probe} capture`] = await collectRound(dir, probe, true, filter);
      progress(
        `${probe}, --no-capture: ${SECONDS} s` + (probe === "procfs" ? ", with tshark" : ""),
      );
      // tshark runs beside the round that does not capture; CPU seconds are each process's own.
      const [without, pdml] = await Promise.all([
        collectRound(dir, probe, false, filter),
        probe === "procfs" ? tsharkRound(filter) : undefined,
      ]);
      rounds[`${probe} nocapture`] = without;
      if (pdml) tshark = pdml;
      const withCapture = rounds[`${probe} capture`]!;
      const cpuS = withCapture.cpuS - without.cpuS;
      console.log(
        `    => capture on lo costs ${cpuS.toFixed(2)} CPU s a round and ${
          (withCapture.rssMiB - without.rssMiB).toFixed(0)
        } MiB of RSS`,
      );
    }
  } finally {
    const { sent, seconds } = await traffic.stop();
    console.log(
      `traffic: ${int(sent)} datagrams in ${seconds.toFixed(0)} s (${
        (sent / seconds).toFixed(1)
      }/s)`,
    );
  }
  if (tshark === undefined) throw new Error("the tshark anchor did not run");
  const originalRss = python.rssMiB + tshark.rssMiB;
  console.log(
    `the original's scanner: ${(python.wallS * 1000).toFixed(0)} ms and ${
      (python.cpuS * 1000).toFixed(0)
    } CPU ms a sweep, ${anchorCpu.toFixed(2)} CPU s a minute with its 5 s pause (${
      (anchorCpu / 60 * 100).toFixed(1)
    }% of one core), peak RSS ${python.rssMiB.toFixed(0)} MiB`,
  );
  console.log(
    `pyshark's engine, tshark -T pdml on the same traffic for ${SECONDS} s: CPU ${
      tshark.cpuS.toFixed(2)
    } s, peak RSS ${tshark.rssMiB.toFixed(0)} MiB`,
  );

  for (const [key, round] of Object.entries(rounds)) {
    const [probe, capture] = key.split(" ");
    const label = `${probe}, ${capture === "capture" ? "capture on lo" : "--no-capture"}`;
    const minute = perMinute(round.cpuS);
    const targeted = key === "procfs capture";
    emitResult({
      section: "collect",
      figure: `CPU per minute, ${label}`,
      value: minute,
      unit: "CPU s/min",
      anchor: "the original's scanner: Python socket.bind tcp4 sweeps + 5 s pause, for a minute",
      anchorValue: anchorCpu,
      ...lowerIsBetter(minute, anchorCpu),
      ...(targeted
        ? {
          target: `< ${CPU_TARGET_PERCENT}% of one core (${
            (CPU_TARGET_PERCENT * 0.6).toFixed(1)
          } CPU s/min)`,
          // A short round scaled to a minute counts its start-up several times over.
          ...(SECONDS < 55
            ? { inconclusive: `a ${SECONDS} s round, not cron's 55 s` }
            : { pass: minute / 60 * 100 < CPU_TARGET_PERCENT }),
        }
        : {}),
      note: `${(minute / 60 * 100).toFixed(2)}% of one core; ${TRAFFIC_RATE} datagrams/s; a ` +
        `${SECONDS} s round` + (SECONDS >= 55 ? "" : ` scaled to a minute (×60/${SECONDS + 5})`),
    });
    const rssTarget = RSS_TARGET_MIB[capture as "capture" | "nocapture"];
    emitResult({
      section: "collect",
      figure: `peak RSS, ${label}`,
      value: round.rssMiB,
      unit: "MiB",
      anchor: "the original's collect: Python scanner + tshark -T pdml (pyshark's engine), summed",
      anchorValue: originalRss,
      ...lowerIsBetter(round.rssMiB, originalRss),
      ...(probe === "procfs"
        ? { target: `≤ ${rssTarget} MiB`, pass: round.rssMiB <= rssTarget }
        : {}),
      note: `start-up alone (pad init) ${startup.rssMiB.toFixed(0)} MiB`,
    });
  }

  const procfsDb = `${dir}/collect-procfs-true.db`;
  console.log(`## start-up: CPU and peak RSS, median of ${STARTUP_RUNS} runs`);
  for (const args of [["--help"], ["--db", procfsDb, "status"], ["--db", procfsDb, "inspect"]]) {
    const runs: Timed[] = [];
    for (let i = 0; i < STARTUP_RUNS; i++) {
      // status exits 1 on a database whose collect stopped a while ago: only its cost counts.
      runs.push(await timed([...PAD, ...args], { check: false, discardStdout: true }));
    }
    const cpuS = median(runs.map((r) => r.cpuS));
    const rssMiB = median(runs.map((r) => r.rssMiB));
    const command = `pad ${args.filter((a) => a !== "--db" && a !== procfsDb).join(" ")}`;
    console.log(
      `${command.padEnd(14)} CPU ${cpuS.toFixed(3)} s, peak RSS ${rssMiB.toFixed(0)} MiB`,
    );
    emitResult({
      section: "collect",
      figure: `start-up, \`${command}\``,
      value: cpuS,
      unit: "CPU s",
      target: `≤ ${STARTUP_TARGET_CPU_S} CPU s`,
      pass: cpuS <= STARTUP_TARGET_CPU_S,
      note: `peak RSS ${rssMiB.toFixed(0)} MiB; median of ${STARTUP_RUNS}`,
    });
  }
} finally {
  Deno.removeSync(dir, { recursive: true });
}
