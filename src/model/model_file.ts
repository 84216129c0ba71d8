/**
 * The model file that `pad model export`, `import` and `merge` exchange between hosts: one
 * self-contained file per model, checked whole before anything is read from it.
 *
 * ## Layout
 *
 * ```text
 * pad-model 1\n                  magic and format version, ASCII
 * {…header…}\n                   one line of JSON (see ModelFileHeader)
 * <weights>                      the tensors' float32 values, little-endian, in weightSpecs order
 * <SHA-256>                      32 bytes: the digest of every byte before it
 * ```
 *
 * The header carries what scoring needs besides the weights: the detector's configuration, its
 * topology (TensorFlow.js layers JSON), the feature encoding id, the weight specs in
 * TensorFlow.js' manifest form (`{name, shape, dtype}`; the per-feature error moments are one of
 * them, `pad/error_moments`), how many rounds it was trained on, the threshold state, where it
 * came from and which pad wrote it. `head -2 FILE | tail -1 | jq` shows it.
 *
 * A file is refused, with a message that says which, when its magic is wrong, its format
 * version unknown, it is shorter or longer than its header says (truncated, or something
 * appended), its digest does not match (altered or damaged), its header is not valid JSON or
 * lacks a field, or its weight specs do not add up to its weights. Whether the weights fit the
 * topology is checked by loading it ({@linkcode loadModelFile}).
 *
 * The digest detects corruption and accidental edits, not a forger: anyone who can write the file
 * can recompute it. Moving files between hosts safely is the transport's job (scp, signed
 * object storage).
 *
 * @module
 */

import { createHash } from "node:crypto";
import config from "../../deno.json" with { type: "json" };
import { errorMessage, PadError } from "../errors.ts";
import { DEFAULT_CONFIG, type DetectorConfig, resolveConfig } from "./config.ts";
import type { SavedModel } from "./detector.ts";
import { featureLayout } from "./feature_layout.ts";
import {
  type NamedTensor,
  readTensors,
  tensorBytes,
  tensorSize,
  writeTensors,
} from "./tensor_codec.ts";
import { Threshold, type ThresholdState } from "./threshold.ts";
import { decodeWeights, encodeWeights } from "./weights_blob.ts";

/** The first word of every model file. */
export const MODEL_FILE_MAGIC = "pad-model";

/** The format version this pad writes and reads. */
export const MODEL_FILE_VERSION = 1;

/** The pad that writes a file (deno.json's version). */
export const PAD_VERSION: string = config.version;

const DIGEST_BYTES = 32;
/** Longest first line accepted: the magic, a space, a version number. */
export const MAX_FIRST_LINE = 32;

/** A file that is not a usable pad model file; the message says which file and why. */
export class ModelFileError extends PadError {
  override name = "ModelFileError";
}

/** One tensor in TensorFlow.js' weights-manifest form. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: "float32";
}

/** Where a model came from. */
export type ModelSource =
  | {
    kind: "export";
    /** Its version in the exporting host's `models` table, and when that version was saved. */
    version: number;
    created: string;
  }
  | {
    kind: "merge";
    /** The files averaged, with their weight in the average. */
    inputs: { sha256: string; roundsTrainedOn: number; created: string }[];
  };

/** What a model file holds, apart from the derived weight specs. */
export interface ModelContent {
  /** The pad that wrote the file, and when (ISO 8601). */
  pad: string;
  created: string;
  /** Feature encoding the weights expect ({@linkcode FeatureLayout.id}). */
  encoding: string;
  config: DetectorConfig;
  /** TensorFlow.js layers JSON, exactly as the detector produces it. */
  topology: string;
  /** Rounds learned from, over all versions (a merge adds its inputs'): its weight in a merge. */
  roundsTrainedOn: number;
  /** Rounds the per-feature error moments remember. */
  errorRounds: number;
  /** Start of the newest round learned from (ms since the epoch); null if unknown. */
  trainedUntil: number | null;
  /** The threshold when written (null: not calibrated), and its state: the normal scores. */
  threshold: number | null;
  thresholdState: ThresholdState;
  source: ModelSource;
  /** Every weight, the error moments included, in file order. */
  tensors: NamedTensor[];
}

/** The header line: the content without the values of its tensors. */
export interface ModelFileHeader extends Omit<ModelContent, "tensors"> {
  format: number;
  weightSpecs: WeightSpec[];
  /** Bytes of weights between the header line and the digest. */
  weightsBytes: number;
}

/** A model file read and verified. */
export interface ModelFile extends ModelContent {
  /** Hex SHA-256 of the file's content (the digest it ends with). */
  sha256: string;
  /** Size of the file in bytes. */
  bytes: number;
}

/** A verified file and the name it is reported by. */
export interface NamedModelFile {
  name: string;
  file: ModelFile;
}

const encoder = new TextEncoder();

/** The bytes of a model file holding `content`. */
export function encodeModelFile(content: ModelContent): Uint8Array {
  const weightsBytes = tensorBytes(content.tensors);
  const weightSpecs = content.tensors.map((t): WeightSpec => ({
    name: t.name,
    shape: [...t.shape],
    dtype: "float32",
  }));
  const { tensors: _, ...rest } = content;
  const header: ModelFileHeader = {
    format: MODEL_FILE_VERSION,
    ...rest,
    weightSpecs,
    weightsBytes,
  };
  const head = encoder.encode(
    `${MODEL_FILE_MAGIC} ${MODEL_FILE_VERSION}\n${JSON.stringify(header)}\n`,
  );
  const bytes = new Uint8Array(head.length + weightsBytes + DIGEST_BYTES);
  bytes.set(head, 0);
  const at = writeTensors(new DataView(bytes.buffer), head.length, content.tensors);
  bytes.set(sha256(bytes.subarray(0, at)), at);
  return bytes;
}

/**
 * Reads and verifies the bytes of a model file; `name` (its path) starts every error message.
 * Throws {@linkcode ModelFileError}.
 */
export function decodeModelFile(bytes: Uint8Array, name: string): ModelFile {
  const fail = (why: string): never => {
    throw new ModelFileError(`Model file ${name} ${why}`);
  };
  const firstEnd = bytes.subarray(0, MAX_FIRST_LINE).indexOf(0x0a);
  const first = new TextDecoder().decode(
    bytes.subarray(0, firstEnd < 0 ? MAX_FIRST_LINE : firstEnd),
  );
  const match = /^pad-model (\d{1,9})$/.exec(first);
  const partial = `${MODEL_FILE_MAGIC} `.startsWith(first) || /^pad-model \d+$/.test(first);
  if (firstEnd < 0 && bytes.length < MAX_FIRST_LINE && partial) {
    fail(`is truncated: ${bytes.length} bytes, not even its first line`);
  }
  if (!match) {
    return fail(
      `is not a pad model file (it does not begin with "${MODEL_FILE_MAGIC} 1"): ` +
        `give a file written by "pad model export" or "pad model merge"`,
    );
  }
  const version = Number(match[1]);
  if (version !== MODEL_FILE_VERSION) {
    fail(
      `has format version ${version}; this pad (${PAD_VERSION}) reads version ` +
        `${MODEL_FILE_VERSION}: ${
          version > MODEL_FILE_VERSION ? "upgrade pad" : "export it again with this pad"
        }`,
    );
  }
  const headerStart = firstEnd + 1;
  const headerEnd = bytes.indexOf(0x0a, headerStart);
  const headerText = headerEnd < 0
    ? null
    : new TextDecoder().decode(bytes.subarray(headerStart, headerEnd));

  // The digest first: a damaged header is reported as damage, not as a malformed field.
  const body = bytes.length - DIGEST_BYTES;
  const digest = body >= headerStart ? sha256(bytes.subarray(0, body)) : null;
  if (digest === null || !equalBytes(digest, bytes.subarray(body))) {
    const expected = headerText === null ? null : expectedLength(headerText, headerEnd);
    if (expected !== null && bytes.length < expected) {
      fail(`is truncated: ${bytes.length} of ${expected} bytes; copy it again`);
    }
    if (expected !== null && bytes.length > expected) {
      fail(
        `has ${bytes.length - expected} bytes more than its header says (${expected}): ` +
          "something was appended; copy it again",
      );
    }
    if (headerText === null) fail(`is truncated: ${bytes.length} bytes, its header has no end`);
    return fail(
      "was altered or damaged: its SHA-256 does not match its content; copy it again " +
        "(the digest guards against damage and edits, not against a forger)",
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(headerText!);
  } catch {
    return fail("has a header that is not valid JSON (it was not written by pad)");
  }
  const header = checkHeader(json, fail);
  const expected = headerEnd + 1 + header.weightsBytes + DIGEST_BYTES;
  if (bytes.length !== expected) {
    fail(`holds ${bytes.length} bytes but its header says ${expected}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The length was checked against the specs above: every tensor fits.
  const { tensors } = readTensors(view, headerEnd + 1, body, header.weightSpecs);
  const { format: _, weightSpecs: _specs, weightsBytes: _bytes, ...content } = header;
  return { ...content, tensors, sha256: hex(digest), bytes: bytes.length };
}

/** Hex SHA-256 digest that the bytes of a model file end with. */
export function digestOf(bytes: Uint8Array): string {
  return hex(bytes.subarray(bytes.length - DIGEST_BYTES));
}

/** The {@linkcode SavedModel} that {@linkcode loadDetector} restores from a file's content. */
export function savedModelOfFile(content: ModelContent): SavedModel {
  return {
    topology: content.topology,
    weights: encodeWeights({
      tensors: content.tensors,
      meta: { errorRounds: content.errorRounds },
    }),
    encoding: content.encoding,
    config: { ...content.config },
    roundsTrainedOn: content.roundsTrainedOn,
  };
}

/** The content of a file for a saved detector; throws {@linkcode ModelFormatError} if damaged. */
export function contentOfSavedModel(
  saved: SavedModel,
  rest: Pick<ModelContent, "trainedUntil" | "threshold" | "thresholdState" | "source">,
): ModelContent {
  const { tensors, meta } = decodeWeights(saved.weights);
  return {
    pad: PAD_VERSION,
    created: new Date().toISOString(),
    encoding: saved.encoding,
    config: { ...saved.config },
    topology: saved.topology,
    roundsTrainedOn: saved.roundsTrainedOn,
    errorRounds: Number(meta.errorRounds) || 0,
    ...rest,
    tensors,
  };
}

/** Validates a parsed header; `fail` throws with the file's name. */
function checkHeader(json: unknown, fail: (why: string) => never): ModelFileHeader {
  const invalid = (what: string): never => fail(`has an invalid header: ${what}`);
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return invalid("not a JSON object");
  }
  const h = json as Record<string, unknown>;
  if (h.format !== MODEL_FILE_VERSION) invalid(`"format" is ${h.format}, its first line says 1`);
  for (const key of ["pad", "created", "encoding", "topology"]) {
    if (typeof h[key] !== "string") invalid(`"${key}" is not a string`);
  }
  for (const key of ["roundsTrainedOn", "errorRounds", "weightsBytes"]) {
    if (!Number.isSafeInteger(h[key]) || (h[key] as number) < 0) {
      invalid(`"${key}" is not a count`);
    }
  }
  if ((h.roundsTrainedOn as number) < 1) invalid(`"roundsTrainedOn" is 0: an untrained model`);
  if (h.trainedUntil !== null && !Number.isFinite(h.trainedUntil)) {
    invalid(`"trainedUntil" is not a time`);
  }
  if (h.threshold !== null && !Number.isFinite(h.threshold)) {
    invalid(`"threshold" is not a number`);
  }
  const config = checkConfig(h.config, invalid);
  try {
    featureLayout(config.bins);
  } catch (error) {
    invalid(`"config": ${errorMessage(error)}`);
  }
  let thresholdState: ThresholdState;
  try {
    thresholdState = Threshold.fromJSON(h.thresholdState).toJSON();
  } catch (error) {
    return invalid(`"thresholdState": ${errorMessage(error)}`);
  }
  const source = h.source as ModelSource | undefined;
  if (typeof source !== "object" || source === null || !["export", "merge"].includes(source.kind)) {
    invalid(`"source" is not an export or a merge`);
  }
  if (!Array.isArray(h.weightSpecs)) invalid(`"weightSpecs" is not a list`);
  const names = new Set<string>();
  let floats = 0;
  for (const spec of h.weightSpecs as WeightSpec[]) {
    if (
      typeof spec?.name !== "string" || spec.dtype !== "float32" || !Array.isArray(spec.shape) ||
      !spec.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
    ) {
      invalid("a weight spec is not {name, shape, dtype: float32}");
    }
    if (names.has(spec.name)) invalid(`weight "${spec.name}" is listed twice`);
    names.add(spec.name);
    floats += tensorSize(spec.shape);
  }
  if (4 * floats !== h.weightsBytes) {
    invalid(`its weight specs hold ${4 * floats} bytes, "weightsBytes" says ${h.weightsBytes}`);
  }
  // Only the fields this pad knows go on; anything else a writer added is dropped.
  return {
    format: MODEL_FILE_VERSION,
    pad: h.pad as string,
    created: h.created as string,
    encoding: h.encoding as string,
    config,
    topology: h.topology as string,
    roundsTrainedOn: h.roundsTrainedOn as number,
    errorRounds: h.errorRounds as number,
    trainedUntil: h.trainedUntil as number | null,
    threshold: h.threshold as number | null,
    thresholdState,
    source: source!,
    weightSpecs: h.weightSpecs as WeightSpec[],
    weightsBytes: h.weightsBytes as number,
  };
}

/** The configuration of a header: every setting this pad knows, and no other. */
function checkConfig(value: unknown, invalid: (what: string) => never): DetectorConfig {
  if (typeof value !== "object" || value === null) return invalid(`"config" is not an object`);
  const known = Object.keys(DEFAULT_CONFIG);
  const unknown = Object.keys(value).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    invalid(`"config" has settings this pad does not know (${unknown.join(", ")}): upgrade pad`);
  }
  const missing = known.filter((k) => !(k in value));
  if (missing.length > 0) invalid(`"config" lacks ${missing.join(", ")}`);
  try {
    return resolveConfig(value as DetectorConfig);
  } catch (error) {
    return invalid(`"config": ${errorMessage(error)}`);
  }
}

/** Total length a file with this header line should have, or null if it is not readable. */
function expectedLength(headerText: string, headerEnd: number): number | null {
  try {
    const bytes = (JSON.parse(headerText) as { weightsBytes?: unknown }).weightsBytes;
    return Number.isSafeInteger(bytes) ? headerEnd + 1 + (bytes as number) + DIGEST_BYTES : null;
  } catch {
    return null;
  }
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
