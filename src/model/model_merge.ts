/**
 * Federated averaging of model files: models of the same configuration and encoding, trained on
 * different hosts, averaged weight by weight in proportion to the rounds each learned from.
 *
 * @module
 */
import { DEFAULT_CONFIG, type DetectorConfig } from "./config.ts";
import {
  type ModelContent,
  type ModelFile,
  ModelFileError,
  type NamedModelFile,
  PAD_VERSION,
} from "./model_file.ts";
import type { NamedTensor } from "./tensor_codec.ts";

/**
 * Throws {@linkcode ModelFileError} unless every file can be averaged with the first: the same
 * feature encoding, configuration, topology and weight specs. The message names what differs.
 */
export function checkMergeable(inputs: readonly NamedModelFile[]): void {
  const [first, ...others] = inputs;
  if (!first) return;
  for (const other of others) {
    const a = first.file, b = other.file;
    const differences: string[] = [];
    if (a.encoding !== b.encoding) {
      differences.push(`feature encoding "${a.encoding}" vs "${b.encoding}"`);
    }
    for (const key of Object.keys(DEFAULT_CONFIG) as (keyof DetectorConfig)[]) {
      if (a.config[key] !== b.config[key]) {
        differences.push(`${key} ${a.config[key]} vs ${b.config[key]}`);
      }
    }
    if (differences.length === 0 && a.topology !== b.topology) {
      differences.push(`topology (written by pad ${a.pad} vs ${b.pad})`);
    }
    if (differences.length === 0) {
      const specs = (f: ModelFile) => f.tensors.map((t) => `${t.name}[${t.shape}]`).join(",");
      if (specs(a) !== specs(b)) differences.push("weight specs");
    }
    if (differences.length > 0) {
      throw new ModelFileError(
        `Cannot merge ${other.name} with ${first.name}: ${differences.join(", ")} ` +
          `(${first.name} first); merge only models of the same configuration and encoding, ` +
          "e.g. hosts that all ran pad detect with the same --seed",
      );
    }
  }
}

/**
 * Federated averaging: each weight (the per-feature error moments too) is the mean of the
 * inputs' weighted by the rounds each was trained on. The merged model was trained on their sum.
 * Its threshold starts empty: scores of different hosts are not comparable, so each host
 * calibrates it on its own rounds when it imports the model. Check {@linkcode checkMergeable}
 * first.
 */
export function mergeModelContents(inputs: readonly NamedModelFile[]): ModelContent {
  if (inputs.length < 2) throw new RangeError("A merge needs two or more models");
  checkMergeable(inputs);
  const files = inputs.map((i) => i.file);
  const first = files[0]!;
  const total = files.reduce((n, f) => n + f.roundsTrainedOn, 0);
  const tensors = first.tensors.map((t, k): NamedTensor => {
    const sum = new Float64Array(t.values.length);
    for (const f of files) {
      const share = f.roundsTrainedOn / total;
      const values = f.tensors[k]!.values;
      for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + share * values[i]!;
    }
    return { name: t.name, shape: [...t.shape], values: Float32Array.from(sum) };
  });
  const until = files.map((f) => f.trainedUntil).filter((t) => t !== null);
  return {
    pad: PAD_VERSION,
    created: new Date().toISOString(),
    encoding: first.encoding,
    config: { ...first.config },
    topology: first.topology,
    roundsTrainedOn: total,
    // The pooled moments rest on all the inputs' rounds, up to what one model remembers.
    errorRounds: Math.min(
      files.reduce((n, f) => n + f.errorRounds, 0),
      first.config.errorMemory,
    ),
    trainedUntil: until.length > 0 ? Math.max(...until) : null,
    threshold: null,
    thresholdState: { version: 1, options: { ...first.thresholdState.options }, scores: [] },
    source: {
      kind: "merge",
      inputs: files.map((f) => ({
        sha256: f.sha256,
        roundsTrainedOn: f.roundsTrainedOn,
        created: f.created,
      })),
    },
    tensors,
  };
}
