/**
 * `deno task eval`: builds the live scenarios (eval/live.ts) and the replay scenarios
 * (eval/replay.ts), runs the real `pad detect` on every database, scores pad and the baselines on
 * the same rounds (eval/score.ts), prints the Markdown table and writes eval/RESULTS.md and
 * eval/results.json.
 *
 * ```sh
 * deno task eval                 # everything; rewrites eval/RESULTS.md and eval/results.json
 * deno task eval --quick         # shorter histories, results written to --out only
 * deno task eval --only replay --out /tmp/pad-eval
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import config from "../deno.json" with { type: "json" };
import { DEFAULT_WARMUP_ROUNDS } from "../src/detect/defaults.ts";
import { errorMessage, UsageError } from "../src/errors.ts";
import type { LabelledDatabase } from "./labels.ts";
import { type PadRunner, replayPrerequisites, runReplayScenarios } from "./replay.ts";
import {
  type DatabaseOutcome,
  markdownTable,
  METHOD_NAMES,
  scoreDatabase,
  shownMethods,
  summarize,
  type Summary,
  targets,
} from "./score.ts";

const HERE = new URL(".", import.meta.url);
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const PCAPS = new URL("../../shared/pcaps", import.meta.url).pathname;

/** The command line of `deno task eval`. */
interface EvalOptions {
  quick: boolean;
  only: "live" | "replay" | null;
  /** Working directory: databases and intermediate captures; null: a new temporary one. */
  out: string | null;
  jobs: number;
  seed: number;
  benignRounds: number;
  roundSeconds: number;
  pcaps: string;
  /** Score the databases of a previous run in `out` again instead of building new ones. */
  reuse: boolean;
}

const USAGE = `Usage: deno task eval [--quick] [--only live|replay] [--out DIR] [--reuse] [--jobs N]
                      [--benign-rounds N] [--round-seconds N] [--seed N] [--pcaps DIR]

  --quick            shorter histories (about 4 minutes); results go to --out, not eval/
  --only SET         only the live or only the replay scenarios (results go to --out)
  --out DIR          where databases and results are written (default: a new temporary dir)
  --jobs N           pad detect processes at once (default: the number of cores, at most 2)
  --benign-rounds N  benign rounds per replay database (default 720; --quick 180)
  --round-seconds N  replay round length in seconds (pad import --round-length; default 10)
  --seed N           arrangement of the replayed captures (default 1)
  --pcaps DIR        the shared captures (default ../shared/pcaps)
  --reuse            score the databases of an earlier run in --out again (detect scores
                     only rounds it has not scored)`;

/** Parses the flags; a bad one is a {@linkcode UsageError}. */
export function parseOptions(args: string[]): EvalOptions | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: "boolean", default: false },
        only: { type: "string" },
        out: { type: "string" },
        jobs: { type: "string" },
        seed: { type: "string" },
        "benign-rounds": { type: "string" },
        "round-seconds": { type: "string" },
        pcaps: { type: "string" },
        reuse: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(`${errorMessage(error)}\n${USAGE}`);
  }
  if (values.help) return "help";
  if (values.reuse && values.out === undefined) {
    throw new UsageError("--reuse needs --out DIR: the directory of the run to score again");
  }
  const only = values.only ?? null;
  if (only !== null && only !== "live" && only !== "replay") {
    throw new UsageError(`Invalid --only "${only}": use live or replay`);
  }
  const count = (name: string, text: string | undefined, fallback: number, min = 1) => {
    if (text === undefined) return fallback;
    if (!/^\d+$/.test(text) || Number(text) < min) {
      throw new UsageError(`Invalid --${name} "${text}": use a whole number, at least ${min}`);
    }
    return Number(text);
  };
  const quick = values.quick ?? false;
  return {
    quick,
    only,
    out: values.out ?? null,
    jobs: count("jobs", values.jobs, Math.min(2, navigator.hardwareConcurrency || 1)),
    seed: count("seed", values.seed, 1, 0),
    benignRounds: count("benign-rounds", values["benign-rounds"], quick ? 180 : 720, 150),
    roundSeconds: count("round-seconds", values["round-seconds"], 10),
    pcaps: values.pcaps ?? PCAPS,
    reuse: values.reuse ?? false,
  };
}

/** `deno run … main.ts ARGS` with the flags of the `pad` task, as a user runs pad. */
export const runPad: PadRunner = async (args) => {
  const words = config.tasks.pad.split(/\s+/);
  const flags = words.slice(words.indexOf("run") + 1, words.indexOf("main.ts"));
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, MAIN, ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  if (!output.success) {
    // The line that says what went wrong, not the last line of a stack trace.
    const lines = decoder.decode(output.stderr).trim().split("\n");
    const last = lines.find((l) => /error/i.test(l)) ?? lines[0];
    throw new Error(`pad ${args.join(" ")} failed (exit ${output.code}): ${last}`);
  }
  return decoder.decode(output.stdout);
};

/** Seconds spent per phase, in order. */
type Phases = [string, number][];

/** Runs a phase, logging and recording how long it took. */
async function phase<T>(phases: Phases, name: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  log(`${name}…`);
  try {
    return await fn();
  } finally {
    const seconds = (performance.now() - started) / 1000;
    phases.push([name, seconds]);
    log(`${name}: ${seconds.toFixed(1)} s`);
  }
}

function log(line: string): void {
  console.error(`eval: ${line}`);
}

/** `pad detect` on each database, `jobs` at a time. */
async function detectAll(databases: LabelledDatabase[], jobs: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < databases.length) {
      const labelled = databases[next++]!;
      const started = performance.now();
      const out = await runPad(["--db", labelled.db, "--quiet", "detect", "--format", "json"]);
      const summary = out.trim().split("\n").map((l) => JSON.parse(l)).find((l) =>
        l.type === "summary"
      );
      log(
        `detect ${labelled.name}: ${summary?.scored} rounds scored (${summary?.warmup} warm-up), ` +
          `${summary?.anomalies} anomalies, ${summary?.incidents_opened} incidents, ` +
          `${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, databases.length) }, worker));
}

/** README.md, whose results table a full run rewrites between these two markers. */
const README = new URL("../README.md", import.meta.url).pathname;
/** The markers around README.md's results table. */
export const README_START = "<!-- eval results: rewritten by deno task eval -->";
export const README_END = "<!-- end of eval results -->";

/**
 * `text` with `table` between {@linkcode README_START} and {@linkcode README_END}; null when
 * either marker is missing.
 */
export function withResultsTable(text: string, table: string): string | null {
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start < 0 || end < start) return null;
  return `${text.slice(0, start + README_START.length)}\n\n${table.trimEnd()}\n\n${
    text.slice(end)
  }`;
}

/** Rewrites README.md's results table when it has the markers; resolves to whether it did. */
function updateReadme(table: string): boolean {
  let text: string;
  try {
    text = Deno.readTextFileSync(README);
  } catch {
    return false;
  }
  const updated = withResultsTable(text, table);
  if (updated === null) return false;
  Deno.writeTextFileSync(README, updated);
  return true;
}

/** `deno fmt` on the results, so the committed files pass `deno fmt --check` as they are. */
async function formatFiles(paths: string[]): Promise<void> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", ...paths],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) log(`deno fmt failed: ${new TextDecoder().decode(output.stderr).trim()}`);
}

/** The machine the figures were measured on, in one line. */
function machine(): string {
  let cpu = "unknown CPU";
  try {
    cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/^model name\s*:\s*(.+)$/m)?.[1] ?? cpu;
  } catch { /* not Linux */ }
  const gib = (Deno.systemMemoryInfo().total / 2 ** 30).toFixed(0);
  const os = Deno.build.os === "linux" ? "Linux" : Deno.build.os;
  return `${navigator.hardwareConcurrency} cores, ${cpu}, ${gib} GiB, ` +
    `${os} ${Deno.osRelease()}, Deno ${Deno.version.deno}`;
}

/** RESULTS.md: when and where, the table, the targets, the databases and what was run. */
function resultsMarkdown(
  run: Run,
  reused: boolean,
  outcomes: DatabaseOutcome[],
  summary: Summary,
  phases: Phases,
): string {
  const total = phases.reduce((s, [, t]) => s + t, 0);
  const methods = shownMethods(summary);
  const day = (iso: string) => iso.slice(0, 16).replace("T", " ");
  const parts = [
    "# pad evaluation results",
    "",
    `Generated by \`deno task eval${run.args.length ? " " + run.args.join(" ") : ""}\` on ` +
    `${day(run.started)} UTC, in ${minutes(total)}, on ${machine()}` +
    `${reused ? ` (scored again with --reuse on ${day(new Date().toISOString())} UTC)` : ""}. ` +
    `The section "Evaluation" of README.md says how the scenarios are built and what the ` +
    `columns mean.`,
    "",
    markdownTable(summary).trimEnd(),
    "",
    "Targets:",
    "",
    ...targets(summary).map((t) => `- ${t}`),
    "",
    "| phase | time |",
    "| --- | ---: |",
    ...phases.map(([name, s]) => `| ${name} | ${s.toFixed(1)} s |`),
    "",
    `Databases (rounds pad judged exclude its warm-up, the first ${DEFAULT_WARMUP_ROUNDS} rounds):`,
    "",
    `| database | rounds | judged | benign | ${
      methods.map((m) => `${METHOD_NAMES[m]} false alarms`).join(" | ")
    } |`,
    `| --- | ---: | ---: | ---: | ${methods.map(() => "---:").join(" | ")} |`,
    ...outcomes.map((o) =>
      `| ${o.name} | ${o.rounds} | ${o.judged} | ${o.benign} | ${
        methods.map((m) => o.falseAlarms[m].flagged).join(" | ")
      } |`
    ),
    "",
    "Episodes (pad's highest score on the episode's rounds, and the threshold it was judged against):",
    "",
    ...outcomes.flatMap((o) =>
      o.episodes.map((e) =>
        `- ${o.name}: ${new Date(e.start).toISOString()}, ${e.rounds} ` +
        `${e.rounds === 1 ? "round" : "rounds"}; pad ${
          e.padPeak
            ? `peak ${figure(e.padPeak.score)} / threshold ${
              e.padPeak.threshold === null ? "none" : figure(e.padPeak.threshold)
            }`
            : "not scored"
        }. ${e.command}${
          e.incidents.length === 0
            ? ". No incident."
            : `. Incidents: ${e.incidents.map((s) => `"${s}"`).join("; ")}.`
        }`
      )
    ),
    "",
    "Incidents on benign rounds (what a person would have been told for nothing):",
    "",
    ...outcomes.map((o) =>
      `- ${o.name}: ${
        o.benignIncidents.count === 0
          ? "none"
          : o.benignIncidents.summaries.map((s) => `"${s}"`).join("; ")
      }`
    ),
  ];
  const problems = [...run.notes, ...summary.problems];
  if (problems.length) parts.push("", "Not counted:", "", ...problems.map((p) => `- ${p}`));
  if (run.quick) {
    parts.splice(2, 0, "**Quick run** (`--quick`): short histories, indicative only.", "");
  }
  return parts.join("\n") + "\n";
}

/** Three significant digits, without an exponent. */
function figure(n: number): string {
  return n >= 1000 ? n.toFixed(0) : n.toPrecision(3);
}

function minutes(seconds: number): string {
  return seconds < 90
    ? `${seconds.toFixed(0)} s`
    : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/**
 * Builds the live, then the replay scenarios (those `--only` keeps), into `databases`. A set that
 * cannot run or fails is a note, and the other still runs. Resolves to whether every set ran and
 * whether one failed (a set skipped for want of tools or captures did not fail).
 */
async function buildScenarios(
  options: EvalOptions,
  out: string,
  phases: Phases,
  notes: string[],
  databases: LabelledDatabase[],
): Promise<{ complete: boolean; failed: boolean }> {
  const result = { complete: true, failed: false };
  const attempt = async (set: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (error) {
      result.complete = false;
      result.failed = true;
      notes.push(`${set} scenarios failed: ${errorMessage(error)}`);
      log(notes[notes.length - 1]!);
    }
  };
  if (options.only !== "replay") {
    await attempt("live", async () => {
      const dir = `${out}/live`;
      Deno.mkdirSync(dir, { recursive: true });
      // Imported here: only a run with live scenarios loads them.
      const { runLiveScenarios } = await import("./live.ts");
      databases.push(
        await phase(
          phases,
          "live scenarios",
          () =>
            runLiveScenarios({ dir, quick: options.quick, log: (line) => log(`live: ${line}`) }),
        ),
      );
    });
  }
  if (options.only !== "live") {
    const problems = await replayPrerequisites(options.pcaps);
    if (problems.length > 0) {
      notes.push(...problems.map((p) => `replay scenarios skipped: ${p}`));
      for (const p of problems) log(`replay scenarios skipped: ${p}`);
      result.complete = false;
      return result;
    }
    await attempt("replay", async () => {
      databases.push(
        ...await phase(phases, "replay: build and import", () =>
          runReplayScenarios({
            dir: out,
            pcaps: options.pcaps,
            benignRounds: options.benignRounds,
            roundSeconds: options.roundSeconds,
            seed: options.seed,
            pad: runPad,
            log,
          })),
      );
    });
  }
  return result;
}

/**
 * What a run built and how long it took, saved as `labels.json` in `--out` (after the build, and
 * again after detect) so that `--reuse` can score the same databases again.
 */
interface Run {
  /** The run's own flags and start, ISO 8601. */
  args: string[];
  started: string;
  /** Every scenario set ran in full (only such a run writes eval/RESULTS.md). */
  complete: boolean;
  failed: boolean;
  quick: boolean;
  notes: string[];
  phases: Phases;
  databases: LabelledDatabase[];
}

function saveRun(path: string, run: Run): void {
  Deno.writeTextFileSync(path, JSON.stringify(run, null, 2) + "\n");
}

/** The run saved in `path`, with the databases `only` keeps. */
function loadRun(path: string, only: EvalOptions["only"]): Run {
  let run: Run;
  try {
    run = JSON.parse(Deno.readTextFileSync(path)) as Run;
  } catch (error) {
    throw new Error(`Cannot reuse ${path}: ${errorMessage(error)}; run without --reuse first`);
  }
  if (only === null) return run;
  const databases = run.databases.filter((d) => (only === "live") === !d.name.startsWith("replay"));
  return { ...run, complete: false, databases };
}

/** Runs the evaluation; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  let options;
  try {
    options = parseOptions(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`eval: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  const out = options.out ?? Deno.makeTempDirSync({ prefix: "pad_eval_" });
  Deno.mkdirSync(out, { recursive: true });
  log(`working in ${out}`);
  const runFile = `${out}/labels.json`;
  let run: Run;
  if (options.reuse) {
    run = loadRun(runFile, options.only);
    log(`scoring again the ${run.databases.length} databases of ${runFile}`);
  } else {
    run = {
      args,
      started: new Date().toISOString(),
      complete: false,
      failed: false,
      quick: options.quick,
      notes: [],
      phases: [],
      databases: [],
    };
    const built = await buildScenarios(options, out, run.phases, run.notes, run.databases);
    run.complete = built.complete && !options.quick && options.only === null;
    run.failed = built.failed;
    saveRun(runFile, run);
  }
  if (run.databases.length === 0) {
    console.error("eval: no scenario could run: " + run.notes.join("; "));
    return 1;
  }
  // Detect scores only rounds it has not scored: scoring a run again detects nothing new.
  const detectPhases: Phases = [];
  await phase(
    detectPhases,
    `pad detect (${run.databases.length} databases, ${options.jobs} at a time)`,
    () => detectAll(run.databases, options.jobs),
  );
  if (!run.phases.some(([name]) => name.startsWith("pad detect"))) {
    run.phases.push(...detectPhases);
    saveRun(runFile, run);
  }
  const scorePhases: Phases = [];
  const outcomes = await phase(
    scorePhases,
    "score",
    () => Promise.resolve(run.databases.map(scoreDatabase)),
  );
  const phases = [...run.phases, ...scorePhases];
  const summary = summarize(outcomes);

  console.log(markdownTable(summary));
  for (const t of targets(summary)) console.log(`- ${t}`);
  for (const p of [...run.notes, ...summary.problems]) console.log(`- not counted: ${p}`);

  // Only a full run where every set ran replaces the committed results.
  const target = run.complete ? HERE.pathname : `${out}/`;
  Deno.writeTextFileSync(
    `${target}RESULTS.md`,
    resultsMarkdown(run, options.reuse, outcomes, summary, phases),
  );
  Deno.writeTextFileSync(
    `${target}results.json`,
    JSON.stringify(
      {
        generated: run.started,
        scored: new Date().toISOString(),
        arguments: run.args,
        machine: machine(),
        phases: Object.fromEntries(phases.map(([name, t]) => [name, Number(t.toFixed(1))])),
        databases: outcomes,
        summary,
      },
      null,
      2,
    ) + "\n",
  );
  const written = [`${target}RESULTS.md`, `${target}results.json`];
  if (run.complete && updateReadme(markdownTable(summary))) written.push(README);
  await formatFiles(written);
  log(`results written to ${written.join(", ")}`);
  if (options.out === null) log(`databases kept in ${out}`);
  return run.failed ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`eval: ${errorMessage(error)}`);
    Deno.exit(1);
  }
}
