import { Command } from "@commander-js/extra-typings";
import { type CommandContext, flag } from "../cli.ts";
import type { Output } from "../output.ts";
import { parsePath } from "../parse.ts";
import { writePrometheusFile } from "../fleet/prometheus.ts";

/** `pad export`: its flags, help and action. */
export function exportCommand(context: CommandContext) {
  return new Command("export")
    .description("write pad's metrics for Prometheus (node_exporter textfile collector)")
    .requiredOption(
      "--prometheus <file>",
      "the .prom file to rewrite atomically",
      flag(parsePath, "--prometheus"),
    )
    .action((opts) => {
      runExport({ db: context.db(), prometheus: opts.prometheus }, context.summary());
    });
}

/** Options of `pad export`. */
export interface ExportOptions {
  db: string;
  /** node_exporter textfile-collector file to (re)write atomically. */
  prometheus: string;
}

/** Writes the fleet metrics file and says how many samples it holds. */
export function runExport(options: ExportOptions, out: Output): void {
  const result = writePrometheusFile(options.db, options.prometheus);
  out.write(`Wrote ${result.samples} Prometheus samples to ${result.file}\n`);
}
