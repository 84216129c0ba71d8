/**
 * pad — port anomaly detector. The command line: parses flags, sets up logging, runs one
 * subcommand, and maps what happened to an exit code. The only place that exits.
 */
import config from "./deno.json" with { type: "json" };
import { Command, CommanderError, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { runCollect } from "./src/commands/collect.ts";
import { runCron } from "./src/commands/cron.ts";
import { runDetect } from "./src/commands/detect.ts";
import { runDoctor } from "./src/commands/doctor.ts";
import { runExport } from "./src/commands/export.ts";
import { runImport } from "./src/commands/import.ts";
import { runInit } from "./src/commands/init.ts";
import { runInspect } from "./src/commands/inspect.ts";
import { runModelExport, runModelImport, runModelMerge } from "./src/commands/model.ts";
import { runPrune } from "./src/commands/prune.ts";
import { runReport } from "./src/commands/report.ts";
import { checkPrometheusFile, writePrometheusFile } from "./src/fleet/prometheus.ts";
import { BusyError, errorMessage, ExitCode, UsageError } from "./src/errors.ts";
import { LOG_FORMATS, logger, setupLogging } from "./src/log.ts";
import { stdout } from "./src/output.ts";
import { parseCount, parseDuration, parseMegabytes, parsePath, parseTime } from "./src/parse.ts";
import { defaultDatabasePath } from "./src/store/database.ts";
import { parseNetwork } from "./src/capture/local_net.ts";
import { PROBE_NAMES } from "./src/round.ts";
import { ROW_FORMATS } from "./src/table_format.ts";

/**
 * Pause between sweeps of `pad collect` unless `--interval` says otherwise, chosen from
 * bench/collect_bench.ts: two listen sweeps a round cost 7% of one core; procfs sweeps are so
 * cheap that eleven cost 0.7%.
 */
const DEFAULT_INTERVAL_MS = { listen: 25_000, procfs: 5_000 } as const;

/** pad's version, printed by `pad --version` (deno.json's, as model files record it). */
export const VERSION: string = config.version;

/** Turns one of pad's parsers into a commander argument parser (a usage error either way). */
function flag<T>(parse: (text: string, what: string) => T, what: string) {
  return (text: string): T => {
    try {
      return parse(text, what);
    } catch (error) {
      throw new InvalidArgumentError(errorMessage(error));
    }
  };
}

/** Builds the command line; `setStatus` receives a command's exit code when it is not 0. */
export function buildProgram(setStatus: (code: number) => void) {
  const program = new Command()
    .name("pad")
    .description("Port anomaly detector: which local ports are used, what flows, what is unusual.")
    .version(VERSION)
    .option(
      "--db <path>",
      "database file (default: $PAD_DB, else ~/.local/share/pad/pad.db)",
      flag(parsePath, "--db"),
    )
    .addOption(
      new Option("--log-format <format>", "log format on stderr").choices(LOG_FORMATS).default(
        "text" as const,
      ),
    )
    .option("-q, --quiet", "only warnings and errors (for cron)")
    .option("--debug", "debug logs, and the stack trace on failure")
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .hook("preAction", (command) => {
      const opts = command.opts();
      setupLogging({
        format: opts.logFormat,
        quiet: opts.quiet ?? false,
        debug: opts.debug ?? false,
      });
    });

  const db = () => program.opts().db ?? defaultDatabasePath();
  /** The database where one can be named; only to refuse it as an output (merge needs none). */
  const dbIfKnown = () => {
    try {
      return db();
    } catch {
      return undefined;
    }
  };
  /** stdout, or nowhere with --quiet (summaries are for people; cron mails any output). */
  const quietable = () => program.opts().quiet ? { write: () => {}, isTerminal: false } : stdout;

  program.command("init")
    .description("create or upgrade the database; print its path and schema version")
    .action(() => {
      runInit({ db: db() }, stdout);
    });

  program.command("collect")
    .description("run one round: sweep the ports again and again while capturing packets")
    .addOption(
      new Option("--probe <probe>", "how ports are probed").choices(PROBE_NAMES).default(
        "listen" as const,
      ),
    )
    .option(
      "--interval <duration>",
      "pause between sweeps (default: 25s with listen, 5s with procfs)",
      flag(parseDuration, "--interval"),
    )
    .option(
      "--duration <duration>",
      "round length (default: until 5 s before the next minute)",
      flag(parseDuration, "--duration"),
    )
    .option("--interface <name>", "capture interface (default: first up, non-loopback)")
    .option("--filter <expr>", "BPF capture filter, e.g. 'not port 22'")
    .option("--no-capture", "sweep ports only")
    .option(
      "--payload-bytes <n>",
      "payload bytes kept per stored packet (payloads can hold secrets)",
      flag(parseCount, "--payload-bytes"),
      0,
    )
    .option(
      "--max-packets <n>",
      "packet rows stored per round, DNS first (counts stay exact)",
      flag(parseCount, "--max-packets"),
      10_000,
    )
    .option(
      "--prometheus <file>",
      "then rewrite this node_exporter textfile with pad's metrics",
      flag(parsePath, "--prometheus"),
    )
    .action(async (opts) => {
      if (opts.prometheus) checkPrometheusFile(db(), opts.prometheus);
      const interrupt = new AbortController();
      const signals = ["SIGINT", "SIGTERM"] as const;
      const stop = signals.map((signal) => {
        const handler = () => interrupt.abort(signal);
        Deno.addSignalListener(signal, handler);
        return () => Deno.removeSignalListener(signal, handler);
      });
      try {
        await runCollect({
          db: db(),
          probe: opts.probe,
          intervalMs: opts.interval ?? DEFAULT_INTERVAL_MS[opts.probe],
          durationMs: opts.duration,
          capture: opts.capture,
          interface: opts.interface,
          filter: opts.filter,
          payloadBytes: opts.payloadBytes,
          maxPackets: opts.maxPackets,
          signal: interrupt.signal,
        }, quietable());
      } finally {
        for (const remove of stop) remove();
      }
      if (opts.prometheus) writePrometheusFile(db(), opts.prometheus);
    });

  program.command("import")
    .description("store the packets of a pcap or pcapng file as rounds")
    .argument("<file>", "capture file")
    .option(
      "--round-length <duration>",
      "slice packets into rounds this long, by their timestamps",
      flag(parseDuration, "--round-length"),
      60_000,
    )
    .option(
      "--local <net>",
      "the monitored host's address or network (repeatable; default: private ranges)",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option("--filter <expr>", "BPF filter applied while reading")
    .option(
      "--payload-bytes <n>",
      "payload bytes kept per stored packet",
      flag(parseCount, "--payload-bytes"),
      0,
    )
    .option(
      "--max-packets <n>",
      "packet rows stored per round, DNS first",
      flag(parseCount, "--max-packets"),
      10_000,
    )
    .action((file, opts) => {
      runImport({
        db: db(),
        file,
        roundLengthMs: opts.roundLength,
        local: opts.local?.map((net) => (parseNetwork(net), net)),
        filter: opts.filter,
        payloadBytes: opts.payloadBytes,
        maxPackets: opts.maxPackets,
      }, quietable());
    });

  program.command("detect")
    .description("score new rounds with the model, store anomalies, learn from normal rounds")
    .option(
      "--warmup <rounds>",
      "rounds of history learned from before anything is flagged",
      flag(parseCount, "--warmup"),
      60,
    )
    .option(
      "--seed <n>",
      "seed of a new model: same seed, same scores",
      flag(parseCount, "--seed"),
      1,
    )
    .option("--rescore", "score every complete round again with the current model")
    .option(
      "--max-epochs <n>",
      "most epochs per refit (early stopping usually ends sooner)",
      flag((t, w) => parseCount(t, w, 1), "--max-epochs"),
      20,
    )
    .addOption(
      new Option("--format <format>", "report format").choices(["text", "json"] as const).default(
        "text" as const,
      ),
    )
    .option("--exit-code", `exit ${ExitCode.Anomalies} when anomalies were stored`)
    .option(
      "--prometheus <file>",
      "then rewrite this node_exporter textfile with pad's metrics",
      flag(parsePath, "--prometheus"),
    )
    .action(async (opts) => {
      if (opts.prometheus) checkPrometheusFile(db(), opts.prometheus);
      const result = await runDetect({
        db: db(),
        warmup: opts.warmup,
        seed: opts.seed,
        rescore: opts.rescore ?? false,
        maxEpochs: opts.maxEpochs,
        format: opts.format,
      }, opts.format === "json" ? stdout : quietable());
      if (opts.prometheus) writePrometheusFile(db(), opts.prometheus);
      if (opts.exitCode && result.anomalies.length > 0) setStatus(ExitCode.Anomalies);
    });

  program.command("doctor")
    .description("check what collect needs (libpcap, capture permission, paths) and what to do")
    .option("--interface <name>", "the interface to check capture on")
    .action((opts) => {
      const findings = runDoctor({ db: db(), interface: opts.interface }, stdout);
      if (findings.some((f) => f.status === "fail")) setStatus(ExitCode.Failure);
    });

  program.command("inspect")
    .description("list the tables, or dump one as a table, JSON lines, CSV or TSV")
    .argument("[table]", "rounds, ports, rounds_ports, packets, …")
    .addOption(
      new Option("--format <format>", "output format (default: table on a terminal, else tsv)")
        .choices(ROW_FORMATS),
    )
    .option("--limit <n>", "rows at most, newest first; 0 for all", flag(parseCount, "--limit"), 20)
    .option(
      "--since <time>",
      "from this time: ISO 8601 or an age like 2h, 7d",
      flag(parseTime, "--since"),
    )
    .option("--until <time>", "before this time: ISO 8601 or an age", flag(parseTime, "--until"))
    .option(
      "--round <id>",
      "rows of this round only",
      flag((t, w) => parseCount(t, w, 1), "--round"),
    )
    .option(
      "--where <column=value>",
      "only rows where COLUMN equals VALUE (repeatable)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action((table, opts) => {
      runInspect({ db: db(), table, ...opts }, stdout);
    });

  program.command("prune")
    .description("remove old rounds and packets; give the space back")
    .option(
      "--keep <duration>",
      "keep rounds younger than this",
      flag(parseDuration, "--keep"),
      7 * 86_400_000,
    )
    .option(
      "--keep-packets <duration>",
      "keep packet rows younger than this (rounds and their counts stay)",
      flag(parseDuration, "--keep-packets"),
      86_400_000,
    )
    .option(
      "--max-size <MB>",
      "then remove the oldest rounds until the file fits",
      flag(parseMegabytes, "--max-size"),
    )
    .option("--dry-run", "report what would be removed; change nothing", false)
    .action((opts) => {
      const result = runPrune({
        db: db(),
        keepMs: opts.keep,
        keepPacketsMs: opts.keepPackets,
        maxSizeBytes: opts.maxSize,
        dryRun: opts.dryRun,
      }, quietable());
      if (!result.fits) setStatus(ExitCode.Failure);
    });

  program.command("report")
    .description("write one self-contained HTML report: scores, anomalies, ports, traffic, model")
    .option(
      "-o, --output <file>",
      "HTML file to write",
      flag(parsePath, "--output"),
      "pad-report.html",
    )
    .option(
      "--since <time>",
      "from this time: ISO 8601 or an age like 24h, 7d",
      flag(parseTime, "--since"),
    )
    .option("--until <time>", "before this time: ISO 8601 or an age", flag(parseTime, "--until"))
    .action(async (opts) => {
      await runReport({
        db: db(),
        output: opts.output,
        since: opts.since ?? Date.now() - 86_400_000,
        until: opts.until,
      }, quietable());
    });

  program.command("cron")
    .description("print pad's crontab lines (collect, detect, prune), or install/uninstall them")
    .option("--install", "add the lines to your crontab (idempotent; other lines untouched)")
    .option("--uninstall", "remove exactly pad's lines from your crontab")
    .option(
      "--log-dir <dir>",
      "where the jobs append their logs (default: next to the database)",
      flag(parsePath, "--log-dir"),
    )
    .option(
      "--prometheus <file>",
      "make the collect and detect lines refresh this node_exporter textfile",
      flag(parsePath, "--prometheus"),
    )
    .action(async (opts) => {
      if (opts.install && opts.uninstall) {
        throw new UsageError("--install and --uninstall exclude each other: choose one");
      }
      const action = opts.install ? "install" : opts.uninstall ? "uninstall" : "print";
      await runCron({ db: db(), action, logDir: opts.logDir, prometheus: opts.prometheus }, stdout);
    });

  program.command("export")
    .description("write pad's metrics for Prometheus (node_exporter textfile collector)")
    .requiredOption(
      "--prometheus <file>",
      "the .prom file to rewrite atomically",
      flag(parsePath, "--prometheus"),
    )
    .action((opts) => {
      runExport({ db: db(), prometheus: opts.prometheus }, quietable());
    });

  const model = program.command("model")
    .description("move models between hosts: export, import, merge (federated averaging)");
  model.command("export")
    .description("write the current model (weights, threshold, rounds trained on) to one file")
    .argument("<file>", "model file to write")
    .action((file) => {
      runModelExport({ db: db(), file: parsePath(file, "FILE") }, quietable());
    });
  model.command("import")
    .description("install a model file as the next model version")
    .argument("<file>", "model file to read")
    .action(async (file) => {
      await runModelImport({ db: db(), file: parsePath(file, "FILE") }, quietable());
    });
  model.command("merge")
    .description("average models weighted by the rounds each was trained on")
    .argument("<files...>", "model files (two or more)")
    .requiredOption("-o, --output <file>", "merged model file", flag(parsePath, "--output"))
    .action(async (files, opts) => {
      await runModelMerge({
        inputs: files.map((f) => parsePath(f, "FILE")),
        output: opts.output,
        db: dbIfKnown(),
      }, quietable());
    });

  return program;
}

/** Runs pad with `args` (without the program name) and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const debug = args.includes("--debug");
  // Until the flags are parsed, errors are reported as text; the preAction hook reconfigures.
  setupLogging({ format: "text", quiet: false, debug });
  let status: number = ExitCode.Ok;
  const program = buildProgram((code) => status = code);
  try {
    await program.parseAsync(args, { from: "user" });
    return status;
  } catch (error) {
    return exitCodeFor(error, debug);
  }
}

function exitCodeFor(error: unknown, debug: boolean): number {
  const log = logger();
  if (error instanceof CommanderError) {
    // Commander has printed its one-line message (or the help, or the version) already.
    return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  if (error instanceof UsageError) {
    log.error(error.message);
    return ExitCode.Usage;
  }
  if (error instanceof BusyError) {
    log.warn(error.message);
    return ExitCode.Busy;
  }
  log.error(errorMessage(error));
  if (debug && error instanceof Error && error.stack) log.error(error.stack);
  return ExitCode.Failure;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
