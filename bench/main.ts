/**
 * `deno task bench`: runs the bench scripts one after another, each in its own process, prints
 * their output, collects their RESULT lines (bench/support/result.ts) and writes every figure
 * with its anchor, ratio and target to bench/RESULTS.md.
 *
 *     deno task bench [--quick] [--only probe,detect] [--output FILE]
 *
 * `--quick` is a short smoke run (minutes, figures not representative), written to a file in the
 * temporary directory unless `--output` says otherwise. Run as root on an otherwise idle machine:
 * capture, collect and growth capture on `lo`; all test traffic goes to 127.0.0.1 and ::1. Each
 * script has a time limit, so the whole run is bounded (about 20 minutes, 38 at most).
 *
 * @module
 */

import { type BenchResult, formatRatio, parseResultLine } from "./support/result.ts";

interface Script {
  name: string;
  file: string;
  /** Time limits in minutes: full run, quick run. */
  limit: [number, number];
  /** What it needs besides Deno. */
  needs: { root?: boolean; tools?: string[]; torch?: boolean };
}

const SCRIPTS: readonly Script[] = [
  { name: "probe", file: "probe_bench.ts", limit: [3, 2], needs: { tools: ["/usr/bin/python3"] } },
  {
    name: "capture",
    file: "capture_bench.ts",
    limit: [4, 2],
    needs: { root: true, tools: ["tcpdump", "/usr/bin/python3"] },
  },
  {
    name: "collect",
    file: "collect_bench.ts",
    limit: [7, 3],
    needs: { root: true, tools: ["/usr/bin/time", "tshark", "/usr/bin/python3"] },
  },
  {
    name: "growth",
    file: "growth_bench.ts",
    limit: [3, 2],
    needs: { root: true, tools: ["tcpdump", "/usr/bin/python3"] },
  },
  {
    name: "import",
    file: "import_bench.ts",
    limit: [6, 3],
    needs: {
      root: true,
      tools: ["/usr/bin/time", "tcpdump", "tshark", "editcap", "/usr/bin/python3"],
    },
  },
  {
    name: "detect",
    file: "detect_bench.ts",
    limit: [15, 5],
    needs: { tools: ["/usr/bin/time"], torch: true },
  },
];

interface Outcome {
  script: Script;
  status: string;
  seconds: number;
  results: BenchResult[];
  output: string;
}

const BENCH_DIR = new URL(".", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

function option(name: string): string | undefined {
  const at = Deno.args.indexOf(name);
  return at < 0 ? undefined : Deno.args[at + 1];
}

/** Reads the flags; a bad one is one line on stderr and exit 2. */
function parseArgs(): { quick: boolean; only: Set<string> | undefined; output: string } {
  const known = new Set(["--quick", "--only", "--output"]);
  for (const [i, arg] of Deno.args.entries()) {
    const previous = Deno.args[i - 1];
    if (!known.has(arg) && previous !== "--only" && previous !== "--output") {
      usage(`unknown argument "${arg}"`);
    }
  }
  const quick = Deno.args.includes("--quick");
  const onlyText = option("--only");
  const only = onlyText === undefined ? undefined : new Set(onlyText.split(","));
  for (const name of only ?? []) {
    if (!SCRIPTS.some((s) => s.name === name)) {
      usage(`--only takes ${SCRIPTS.map((s) => s.name).join(", ")}: got "${name}"`);
    }
  }
  const output = option("--output") ??
    (quick ? `${Deno.env.get("TMPDIR") ?? "/tmp"}/pad_bench_quick.md` : `${BENCH_DIR}RESULTS.md`);
  return { quick, only, output };
}

function usage(message: string): never {
  console.error(
    `bench: ${message}; usage: deno task bench [--quick] [--only NAME,…] [--output FILE]`,
  );
  Deno.exit(2);
}

async function capture(command: string, args: string[]): Promise<string | undefined> {
  try {
    const output = await new Deno.Command(command, { args, stdin: "null", stderr: "piped" })
      .output();
    if (!output.success) return undefined;
    return (decoder.decode(output.stdout) || decoder.decode(output.stderr)).trim();
  } catch {
    return undefined;
  }
}

async function exists(tool: string): Promise<boolean> {
  if (tool.startsWith("/")) {
    try {
      return Deno.statSync(tool).isFile;
    } catch {
      return false;
    }
  }
  return (await capture("sh", ["-c", `command -v ${tool}`])) !== undefined;
}

/** Why `script` cannot run here, or undefined when it can. */
async function missing(script: Script, torch: boolean): Promise<string | undefined> {
  if (!(await exists(`${BENCH_DIR}${script.file}`))) return `bench/${script.file} does not exist`;
  if (script.needs.root && Deno.uid() !== 0) return "needs root (capture on lo)";
  for (const tool of script.needs.tools ?? []) {
    if (!(await exists(tool))) return `needs ${tool} (apt-get install it)`;
  }
  if (script.needs.torch && !torch) return "needs /usr/bin/python3 with torch (python3-torch)";
  return undefined;
}

/** The machine, as RESULTS.md describes it. */
async function machine(): Promise<string[]> {
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown CPU";
  const cores = navigator.hardwareConcurrency;
  const gib = Math.round(Deno.systemMemoryInfo().total / 2 ** 30);
  const python = await capture("/usr/bin/python3", [
    "-c",
    "import sys, torch; print(sys.version.split()[0], 'torch', torch.__version__)",
  ]);
  const tcpdump = (await capture("tcpdump", ["--version"]))?.split("\n")[0];
  const tshark = (await capture("tshark", ["--version"]))?.split("\n")[0];
  const head = await capture("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]);
  const dirty = await capture("git", ["-C", ROOT, "status", "--porcelain"]);
  return [
    `${cores} cores, ${model}, ${gib} GiB RAM, Linux ${Deno.osRelease()}`,
    `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}); Python ${
      python ?? "with torch: missing"
    }; ` +
    `${tcpdump ?? "tcpdump missing"}; ${tshark ?? "tshark missing"}`,
    `pad at ${head ?? "unknown commit"}${dirty ? " (work tree modified)" : ""}`,
  ];
}

/** Whether other work used more than half the cores, by the load averages around the run. */
function busy(start: string, end: string): boolean {
  const first = Number(start.split(" ")[0]);
  const last15 = Number(end.split(" ")[2]);
  return Math.max(first, last15) > navigator.hardwareConcurrency / 2;
}

function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

/** Calls `onLine` for each line of `stream`; resolves at its end. */
async function pump(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    lines.forEach(onLine);
  }
  if (pending) onLine(pending);
}

/** Runs one script to its end or its time limit; its output goes on to ours as it comes. */
async function runScript(script: Script, quick: boolean): Promise<Outcome> {
  const limitMinutes = script.limit[quick ? 1 : 0];
  console.log(`\n=== ${script.file}${quick ? " --quick" : ""} (limit ${limitMinutes} min)`);
  const started = performance.now();
  // setsid: the script leads its own process group, so a time-out ends its children too.
  const child = new Deno.Command("setsid", {
    args: [
      Deno.execPath(),
      "run",
      "--unstable-net",
      "--allow-all",
      `${BENCH_DIR}${script.file}`,
      ...(quick ? ["--quick"] : []),
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const results: BenchResult[] = [];
  const output: string[] = [];
  const errors: string[] = [];
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    console.error(`[bench] ${script.file}: over its ${limitMinutes} min limit, stopping it`);
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      setTimeout(() => {
        try {
          Deno.kill(-child.pid, signal);
        } catch {
          // already gone
        }
      }, signal === "SIGTERM" ? 0 : 5_000);
    }
  }, limitMinutes * 60_000);
  await Promise.all([
    pump(child.stdout, (line) => {
      const result = parseResultLine(line);
      if (result) {
        results.push(result);
        return;
      }
      output.push(line);
      console.log(line);
    }),
    pump(child.stderr, (line) => {
      errors.push(line);
      console.error(line);
    }),
  ]);
  const status = await child.status;
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  const failure = errors.filter((l) => !l.startsWith("[")).slice(-3).join(" ").trim();
  return {
    script,
    status: timedOut
      ? `stopped at its ${limitMinutes} min limit`
      : status.success
      ? "ok"
      : `failed (exit ${status.code})${failure ? `: ${failure.slice(0, 300)}` : ""}`,
    seconds,
    results,
    output: output.join("\n"),
  };
}

/** A figure with its unit, to about 3 significant digits. */
function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "n/a";
  if (unit === "s" && value < 1) return `${(value * 1000).toPrecision(3)} ms`;
  const digits = Math.abs(value) >= 1000
    ? Math.round(value).toLocaleString("en")
    : Math.abs(value) >= 100
    ? value.toFixed(0)
    : Math.abs(value) >= 10
    ? value.toFixed(1)
    : value.toPrecision(3);
  return `${digits} ${unit}`;
}

const cell = (text: string | undefined) => (text ?? "").replaceAll("|", "\\|");

function verdict(result: BenchResult): string {
  if (result.inconclusive) return `inconclusive: ${result.inconclusive}`;
  if (result.pass === undefined) return "";
  return result.pass ? "pass" : "**FAIL**";
}

function ratioCell(result: BenchResult): string {
  if (result.ratioText) return result.ratioText;
  if (result.anchorValue !== undefined && result.anchorValue !== 0) {
    return `${formatRatio(result.value / result.anchorValue)} the anchor`;
  }
  return "";
}

function anchorCell(result: BenchResult): string {
  if (result.anchor === undefined) return "";
  const value = result.anchorValue === undefined
    ? ""
    : `: ${formatValue(result.anchorValue, result.unit)}`;
  return `${result.anchor}${value}`;
}

function table(results: readonly BenchResult[]): string[] {
  const lines = [
    "| figure | pad | anchor (same run) | ratio | target | |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of results) {
    lines.push(
      `| ${cell(r.figure)} | ${cell(formatValue(r.value, r.unit))} | ${cell(anchorCell(r))} | ${
        cell(ratioCell(r))
      } | ${cell(r.target)} | ${verdict(r)} |`,
    );
  }
  return lines;
}

function report(
  outcomes: readonly Outcome[],
  header: { date: string; machine: string[]; quick: boolean; loadStart: string; loadEnd: string },
): string {
  const all = outcomes.flatMap((o) => o.results);
  const targets = all.filter((r) => r.target !== undefined);
  const lines = [
    "# pad benchmark results",
    "",
    `${header.quick ? "**Quick smoke run (`--quick`): figures not representative.** " : ""}` +
    `Written by \`deno task bench${header.quick ? " --quick" : ""}\` (bench/main.ts) on ` +
    `${header.date}. Every anchor was measured in the same run, on the same machine.`,
    "",
    ...header.machine.map((m) => `- ${m}`),
    `- load average (1, 5, 15 min) at the start ${header.loadStart}, at the end ` +
    `${header.loadEnd}: ${
      busy(header.loadStart, header.loadEnd)
        ? "**a busy machine** (other work competed for the cores): times are longer than on a " +
          "quiet one, and the capture senders may not reach their rate"
        : "a quiet machine"
    }`,
    "",
    'Ratios read "pad does N× better than the anchor" (faster, less, smaller); a ratio worded the ' +
    "other way (slower, more, larger) means the anchor did better.",
    "",
    "## Targets",
    "",
    ...(targets.length ? table(targets) : ["No figure with a target was measured."]),
    "",
  ];
  for (const outcome of outcomes) {
    lines.push(
      `## ${outcome.script.name} (\`bench/${outcome.script.file}\`)`,
      "",
      `${outcome.status}, ${outcome.seconds.toFixed(0)} s.`,
      "",
    );
    if (outcome.results.length) {
      lines.push(...table(outcome.results), "");
      const notes = outcome.results.filter((r) => r.note);
      if (notes.length) {
        lines.push(...notes.map((r) => `- ${r.figure}: ${r.note}`), "");
      }
    }
    if (outcome.output) {
      lines.push(
        "<details><summary>output</summary>",
        "",
        "```text",
        outcome.output,
        "```",
        "",
        "</details>",
        "",
      );
    }
  }
  return lines.join("\n");
}

const args = parseArgs();
const date = new Date().toISOString();
const loadStart = loadAverage();
const torch = (await capture("/usr/bin/python3", ["-c", "import torch"])) !== undefined;
const header = { date, machine: await machine(), quick: args.quick, loadStart, loadEnd: "" };
console.log(`pad bench${args.quick ? " --quick" : ""}, ${date}`);
header.machine.forEach((m) => console.log(m));
console.log(`load average ${loadStart}`);

const outcomes: Outcome[] = [];
for (const script of SCRIPTS) {
  if (args.only && !args.only.has(script.name)) continue;
  const why = await missing(script, torch);
  if (why) {
    console.log(`\n=== ${script.file}: skipped, ${why}`);
    outcomes.push({ script, status: `skipped: ${why}`, seconds: 0, results: [], output: "" });
    continue;
  }
  outcomes.push(await runScript(script, args.quick));
}
header.loadEnd = loadAverage();

const markdown = report(outcomes, header);
Deno.writeTextFileSync(args.output, markdown + "\n");
// `deno task test` runs `deno fmt --check`: leave the file as deno fmt would write it.
await capture(Deno.execPath(), ["fmt", "--quiet", "--config", `${ROOT}deno.json`, args.output]);
console.log("\n=== summary");
for (const o of outcomes) {
  console.log(`${o.script.name.padEnd(8)} ${o.status} (${o.seconds.toFixed(0)} s)`);
}
for (const r of outcomes.flatMap((o) => o.results)) {
  console.log(
    `${r.section.padEnd(8)} ${r.figure}: ${formatValue(r.value, r.unit)}` +
      (r.anchorValue !== undefined ? ` vs ${formatValue(r.anchorValue, r.unit)}` : "") +
      (ratioCell(r) ? ` = ${ratioCell(r)}` : "") +
      (r.target ? `; target ${r.target}: ${verdict(r).replaceAll("*", "")}` : ""),
  );
}
console.log(`load average ${header.loadEnd}; written to ${args.output}`);
if (outcomes.some((o) => o.status !== "ok" && !o.status.startsWith("skipped"))) Deno.exit(1);
