/**
 * `pad export`: pad's metrics written for Prometheus's node_exporter. Its flags are defined in
 * src/cli/export.ts, which loads this module when it runs.
 *
 * @module
 */
import type { Output } from "../output.ts";
import { writePrometheusFile } from "../fleet/prometheus.ts";

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
