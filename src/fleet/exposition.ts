/**
 * The Prometheus text exposition format (version 0.0.4), as node_exporter's textfile collector
 * reads it: `# HELP`, `# TYPE`, then one sample per line, without timestamps (the collector
 * rejects them).
 *
 * @module
 */

/** One metric with its samples. */
export interface MetricFamily {
  name: string;
  help: string;
  type: "counter" | "gauge";
  samples: Sample[];
}

/** One value and its labels. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The families as exposition text; a family without samples is left out. */
export function renderExposition(families: readonly MetricFamily[]): string {
  let text = "";
  for (const family of families) {
    if (family.samples.length === 0) continue;
    if (!METRIC_NAME.test(family.name)) throw new TypeError(`Bad metric name: ${family.name}`);
    text += `# HELP ${family.name} ${escapeHelp(family.help)}\n`;
    text += `# TYPE ${family.name} ${family.type}\n`;
    for (const sample of family.samples) {
      text += `${family.name}${renderLabels(sample.labels)} ${renderValue(sample.value)}\n`;
    }
  }
  return text;
}

function renderLabels(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([name, value]) => {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new TypeError(`Bad label name: ${name}`);
    }
    return `${name}="${escapeLabelValue(value)}"`;
  });
  return pairs.length > 0 ? `{${pairs.join(",")}}` : "";
}

/** Numbers as Go's ParseFloat reads them; a NaN or infinity is a bug upstream, not a value. */
function renderValue(value: number): string {
  if (!Number.isFinite(value)) throw new TypeError(`Not a finite metric value: ${value}`);
  return String(value);
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeLabelValue(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}
