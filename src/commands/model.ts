/**
 * `pad model export|import|merge`: moving models between hosts as files (see
 * `src/model/model_file.ts` for the format and its checks, `model_file_io.ts` for reading and
 * writing, `model_merge.ts` for the averaging). pad has no server: hosts exchange the
 * files over whatever they already use (scp, object storage, a configuration manager). The
 * commands are defined in src/cli/model.ts, which loads this module when one runs.
 *
 * @module
 */
import { plural } from "../report/format.ts";
import { savedModelOf } from "../detect/model_state.ts";
import { checkOutputFile, type OutputTarget } from "../atomic_file.ts";
import { isoString } from "../time.ts";
import { errorMessage, PadError, UsageError } from "../errors.ts";
import { logger } from "../log.ts";
import type { Detector } from "../model/detector.ts";
import {
  contentOfSavedModel,
  digestOf,
  encodeModelFile,
  type ModelContent,
  type ModelFile,
  type NamedModelFile,
} from "../model/model_file.ts";
import {
  loadModelFile,
  readModelFile,
  restoreDetector,
  writeModelFile,
} from "../model/model_file_io.ts";
import { checkMergeable, mergeModelContents } from "../model/model_merge.ts";
import { Threshold } from "../model/threshold.ts";
import { ModelFormatError } from "../model/weights_blob.ts";
import { contextWindows } from "../model/windows.ts";
import {
  type Database,
  databaseFiles,
  openDatabase,
  openDatabaseReadOnly,
} from "../store/database.ts";
import { latestModel, saveModel, type StoredModel } from "../store/detections.ts";
import { loadWithContext, normalRounds } from "../store/history.ts";
import { lockRole } from "../store/lock.ts";
import type { Output } from "../output.ts";

const log = logger("model");

/** What `pad model export` wrote. */
export interface ModelExportResult {
  version: number;
  bytes: number;
  sha256: string;
}

/** `pad model export FILE`: writes the newest model version, with its threshold, as one file. */
export function runModelExport(
  options: { db: string; file: string },
  out: Output,
): ModelExportResult {
  const target: OutputTarget = { flag: "FILE", protect: databaseFiles(options.db) };
  checkOutputFile(options.file, target);
  using db = openDatabaseReadOnly(options.db);
  const stored = latestModel(db);
  if (!stored) {
    throw new PadError(
      `No model to export in ${options.db}: run "pad detect" first (it trains one from the ` +
        "collected rounds)",
    );
  }
  const bytes = encodeModelFile(exportContent(stored, options.db));
  writeModelFile(options.file, bytes, target);
  const result = { version: stored.id, bytes: bytes.length, sha256: digestOf(bytes) };
  out.write(
    `Exported model v${stored.id} (trained on ${
      plural(stored.roundsTrained, "round")
    }, threshold ` +
      `${stored.threshold?.toPrecision(4) ?? "not calibrated"}) to ${options.file}: ` +
      `${kib(bytes.length)}, sha256 ${result.sha256.slice(0, 12)}\n`,
  );
  return result;
}

/** What `pad model import` installed. */
export interface ModelImportResult {
  /** The new version in the `models` table. */
  version: number;
  /** This host's normal rounds the threshold was calibrated on. */
  calibratedOn: number;
  threshold: number | null;
}

/**
 * `pad model import FILE`: verifies a model file whole (format, digest, that it loads and that
 * this pad encodes rounds as it expects), then installs it as the next version, so the next
 * `pad detect` scores with it and keeps training it.
 *
 * Its threshold is rebuilt here, from the scores the imported model gives this host's own recent
 * normal rounds: a model's scores are its standardized errors, and another host's (or a merge's)
 * differ from this host's own model's wherever the hosts differ, so neither the file's threshold
 * nor the local one would fit (in tests/model_cli_test.ts, 22 and 23 of a host's 60 normal rounds
 * after an import scored above them; none above the rebuilt threshold). With fewer than the
 * threshold's minimum of normal rounds here, `pad detect` completes the calibration on its next
 * rounds (warm-up) before it flags anything.
 */
export async function runModelImport(
  options: { db: string; file: string },
  out: Output,
): Promise<ModelImportResult> {
  // The whole file is checked before the database is opened: a bad file changes nothing.
  const { file, detector } = await loadModelFile(options.file);
  using _detector = detector;
  using db = openDatabase(options.db);
  // detect saves versions from the model it loaded when it started: it must not run meanwhile.
  using _lock = lockRole(options.db, "detect");
  const threshold = new Threshold(file.thresholdState.options);
  const calibratedOn = calibrate(db, detector, threshold);
  const saved = detector.save();
  const version = saveModel(db, {
    created: Date.now(),
    encoding: saved.encoding,
    topology: saved.topology,
    weights: saved.weights,
    config: JSON.stringify(saved.config),
    threshold: threshold.value,
    thresholdState: JSON.stringify(threshold.toJSON()),
    roundsTrained: saved.roundsTrainedOn,
    trainedUntil: file.trainedUntil,
    metrics: JSON.stringify({
      imported: {
        file: options.file,
        sha256: file.sha256,
        pad: file.pad,
        created: file.created,
        source: file.source,
        calibratedOn,
      },
    }),
  });
  const result = { version, calibratedOn, threshold: threshold.value };
  const value = threshold.value?.toPrecision(4);
  const calibration = value
    ? `threshold ${value} calibrated on this host's last ${calibratedOn} normal rounds`
    : `threshold not calibrated yet (${calibratedOn} normal rounds here, ` +
      `${threshold.options.minSamples} needed): pad detect calibrates it on the next rounds ` +
      "before it flags any";
  out.write(
    `Imported ${options.file} as model v${version} (trained on ${
      plural(file.roundsTrainedOn, "round")
    }, ` +
      `${describeSource(file)}, sha256 ${file.sha256.slice(0, 12)}); ${calibration}\n`,
  );
  return result;
}

/** What `pad model merge` wrote. */
export interface ModelMergeResult {
  roundsTrainedOn: number;
  bytes: number;
  sha256: string;
}

/**
 * `pad model merge A B … -o OUT`: federated averaging of models of the same configuration and
 * encoding, each weighted by the rounds it was trained on (see `mergeModelContents`).
 */
export async function runModelMerge(
  options: { inputs: string[]; output: string; db?: string },
  out: Output,
): Promise<ModelMergeResult> {
  if (options.inputs.length < 2) {
    throw new UsageError(
      `pad model merge needs two or more model files: got ${options.inputs.length} ` +
        "(e.g. pad model merge web1.padmodel web2.padmodel -o fleet.padmodel)",
    );
  }
  const target: OutputTarget = {
    flag: "-o",
    protect: options.db === undefined ? [] : databaseFiles(options.db),
  };
  checkOutputFile(options.output, target);
  const inputs: NamedModelFile[] = options.inputs.map((name) => ({
    name,
    file: readModelFile(name),
  }));
  checkMergeable(inputs);
  warnDuplicates(inputs);
  // The inputs share topology and weight specs now: if the first loads, every one does.
  (await restoreDetector(inputs[0]!.name, inputs[0]!.file)).dispose();
  const bytes = encodeModelFile(mergeModelContents(inputs));
  writeModelFile(options.output, bytes, target);
  const total = inputs.reduce((n, i) => n + i.file.roundsTrainedOn, 0);
  out.write(
    `Merged ${inputs.length} models (trained on ` +
      `${inputs.map((i) => i.file.roundsTrainedOn).join(" + ")} = ${total} rounds) into ` +
      `${options.output}: ${kib(bytes.length)}, sha256 ${digestOf(bytes).slice(0, 12)}\n`,
  );
  return { roundsTrainedOn: total, bytes: bytes.length, sha256: digestOf(bytes) };
}

/**
 * The file content of a stored version. A version whose weights, configuration or threshold
 * state cannot be read is reported as damaged: detect rebuilds such a model.
 */
function exportContent(stored: StoredModel, dbPath: string): ModelContent {
  try {
    return contentOfSavedModel(savedModelOf(stored), {
      trainedUntil: stored.trainedUntil,
      threshold: stored.threshold,
      thresholdState: Threshold.fromJSON(JSON.parse(stored.thresholdState)).toJSON(),
      source: {
        kind: "export",
        version: stored.id,
        created: isoString(stored.created),
      },
    });
  } catch (error) {
    // JSON.parse throws SyntaxError; Threshold.fromJSON TypeError; decodeWeights ModelFormatError.
    const damaged = error instanceof ModelFormatError || error instanceof SyntaxError ||
      error instanceof TypeError;
    if (!damaged) throw error;
    throw new PadError(
      `Model version ${stored.id} in ${dbPath} is damaged (${errorMessage(error)}): the next ` +
        `"pad detect" rebuilds it; export after that`,
      { cause: error },
    );
  }
}

/**
 * Scores this host's most recent normal rounds (as many as the threshold remembers) with
 * `detector` and lets `threshold` observe the scores; returns how many.
 */
function calibrate(db: Database, detector: Detector, threshold: Threshold): number {
  const refs = normalRounds(db, 0, Number.MAX_SAFE_INTEGER).slice(-threshold.options.capacity);
  if (refs.length === 0) return 0;
  const { window } = detector.config;
  const { rounds, contextOf } = loadWithContext(db, refs, window - 1);
  const { scores } = detector.score(contextWindows(rounds, contextOf, window, detector.layout));
  threshold.observe(scores);
  return scores.length;
}

/** The same file given twice counts twice in the average: allowed, but said. */
function warnDuplicates(inputs: readonly NamedModelFile[]): void {
  const seen = new Map<string, string>();
  for (const { name, file } of inputs) {
    const earlier = seen.get(file.sha256);
    if (earlier) {
      log.warn("{name} holds the same model as {earlier}: it counts twice in the average", {
        name,
        earlier,
      });
    }
    seen.set(file.sha256, name);
  }
}

function describeSource(file: ModelFile): string {
  return file.source.kind === "export"
    ? `exported from v${file.source.version} by pad ${file.pad}`
    : `a merge of ${file.source.inputs.length} models by pad ${file.pad}`;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}
