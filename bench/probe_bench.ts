/**
 * Port sweeps: wall and CPU seconds of one sweep of ports 1–65535 by the listen and procfs
 * probes, per protocol and family and all four at once, each against the original's method (a
 * Python `socket.bind` per port, bench/support/python_sweep.py) on the same target in the same
 * run. The original swept tcp4 only; the anchor does all four the same way, so each ratio compares
 * like with like.
 *
 *     deno run --unstable-net -A bench/probe_bench.ts [--runs N] [--quick]
 *
 * CPU comes from utime + stime in /proc/self/stat (all threads, 10 ms ticks): Linux only.
 *
 * @module
 */

import { ListenProbe, type Probe, ProcfsProbe, type Target } from "../src/probe/mod.ts";
import { cpuSecondsOf, intFlag, median, progress } from "./support/measure.ts";
import { pythonSweeps, type SweepTarget } from "./support/python_sweep.ts";
import { emitResult, lowerIsBetter } from "./support/result.ts";

const runs = intFlag("--runs", 3, 1);
// A procfs sweep takes milliseconds, under the 10 ms CPU tick: average many more of them.
const procfsRuns = runs * 50;
const TARGETS: readonly SweepTarget[] = ["tcp4", "tcp6", "udp4", "udp6"];

interface Sweep {
  wallS: number;
  cpuS: number;
}

async function measure(
  probe: Probe,
  targets: Target[] | undefined,
  repeat: number,
): Promise<Sweep> {
  await probe.sweep({ targets }); // warm-up: JIT, page cache
  const walls: number[] = [];
  let cpu = 0;
  for (let i = 0; i < repeat; i++) {
    const before = cpuSecondsOf("self");
    const result = await probe.sweep({ targets });
    cpu += cpuSecondsOf("self") - before;
    walls.push(result.durationMs / 1000);
  }
  return { wallS: median(walls), cpuS: cpu / repeat };
}

function toTarget(name: SweepTarget): Target {
  return { protocol: name.slice(0, 3) as "tcp" | "udp", family: Number(name[3]) as 4 | 6 };
}

const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;

progress(`Python socket.bind sweeps, ${runs} run(s) of each target`);
const python = await pythonSweeps(runs, TARGETS);
const pythonAll: Sweep = {
  wallS: TARGETS.reduce((sum, t) => sum + python[t].wallS, 0),
  cpuS: TARGETS.reduce((sum, t) => sum + python[t].cpuS, 0),
};

const probes = { listen: new ListenProbe(), procfs: new ProcfsProbe() };
const rows: { figure: string; pad: Sweep; anchor: Sweep; anchorLabel: string }[] = [];
for (const [name, probe] of Object.entries(probes)) {
  const repeat = name === "procfs" ? procfsRuns : runs;
  for (const target of TARGETS) {
    progress(`${name} ${target}: ${repeat} sweep(s)`);
    rows.push({
      figure: `${name} sweep, ${target}`,
      pad: await measure(probe, [toTarget(target)], repeat),
      anchor: python[target],
      anchorLabel: `Python socket.bind sweep, ${target}`,
    });
  }
  progress(`${name} all four: ${repeat} sweep(s)`);
  rows.push({
    figure: `${name} sweep, all four`,
    pad: await measure(probe, undefined, repeat),
    anchor: pythonAll,
    anchorLabel: "Python socket.bind sweeps of the four, summed",
  });
}

console.log(
  `One sweep of ports 1–65535: median wall / mean CPU over ${runs} run(s) (procfs ${procfsRuns})`,
);
console.log(
  `${"sweep".padEnd(26)} ${"wall".padStart(10)} ${"CPU".padStart(10)}   ` +
    `${"Python wall".padStart(11)} ${"Python CPU".padStart(10)}   faster (wall)`,
);
for (const row of rows) {
  const ratio = lowerIsBetter(row.pad.wallS, row.anchor.wallS, ["faster", "slower"]);
  console.log(
    `${row.figure.padEnd(26)} ${ms(row.pad.wallS).padStart(10)} ${
      ms(row.pad.cpuS).padStart(10)
    }   ` +
      `${ms(row.anchor.wallS).padStart(11)} ${
        ms(row.anchor.cpuS).padStart(10)
      }   ${ratio.ratioText}`,
  );
  emitResult({
    section: "probe",
    figure: row.figure,
    value: row.pad.wallS,
    unit: "s",
    anchor: row.anchorLabel,
    anchorValue: row.anchor.wallS,
    ...ratio,
    note: `wall time of one sweep; CPU ${ms(row.pad.cpuS)} (anchor ${ms(row.anchor.cpuS)})`,
  });
}
console.log(
  "listen: one dual-stack `::` pass per protocol covers both families, so all four cost less " +
    "than their sum.",
);
