/**
 * pad's metrics as a node_exporter textfile: the fleet's Prometheus scrapes node_exporter on
 * every host, which serves the `*.prom` files of its `--collector.textfile.directory`.
 *
 * @module
 */
import { resolve } from "../path.ts";
import { logger } from "../log.ts";
import { databaseFiles, openDatabaseReadOnly } from "../store/database.ts";
import { checkOutputFile, type OutputTarget, writeFileAtomic } from "../atomic_file.ts";
import { type MetricFamily, renderExposition } from "./exposition.ts";
import { metricFamilies } from "./metrics.ts";
import { readStatus } from "../store/status.ts";

/** What a Prometheus export wrote. */
export interface PrometheusExport {
  file: string;
  /** Sample lines written. */
  samples: number;
}

const log = logger("export");

/** What `--prometheus FILE` may not be: anything but a regular file, or the database's files. */
function prometheusTarget(db: string): OutputTarget {
  return { flag: "--prometheus", protect: databaseFiles(db) };
}

/**
 * Throws `UsageError` when `file` is not a file `--prometheus` may replace; collect and detect
 * call it before their work, so a bad path costs nothing.
 */
export function checkPrometheusFile(db: string, file: string): void {
  checkOutputFile(file, prometheusTarget(db));
}

/**
 * Rewrites the Prometheus textfile at `file` (atomically, mode 0644) from the database at `db`,
 * which is opened read-only.
 */
export function writePrometheusFile(db: string, file: string): PrometheusExport {
  const dbPath = resolve(db);
  checkPrometheusFile(dbPath, file);
  const families = metricsOf(dbPath);
  if (!file.endsWith(".prom")) {
    log.warn("node_exporter's textfile collector reads only *.prom files, not {file}", { file });
  }
  writeFileAtomic(file, renderExposition(families), 0o644, prometheusTarget(dbPath));
  return { file, samples: families.reduce((sum, f) => sum + f.samples.length, 0) };
}

/** The metrics of the database at `dbPath`, closed again before the file is written. */
function metricsOf(dbPath: string): MetricFamily[] {
  using database = openDatabaseReadOnly(dbPath);
  return metricFamilies(readStatus(database), dbPath);
}
