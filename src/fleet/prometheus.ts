/** Rewrites the Prometheus textfile at `file` from the database at `db`. (Stub: being built.) */
export function writePrometheusFile(_db: string, _file: string): void {
  throw new Error("Prometheus export is not built yet");
}
