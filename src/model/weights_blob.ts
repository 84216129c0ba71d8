/**
 * The weights blob of a saved model: named float32 tensors plus a little JSON, checksummed so a
 * truncated or damaged blob is refused with a clear error instead of loading garbage.
 *
 * Layout (little-endian): `PADW` · u32 format version · u32 header length · header (UTF-8 JSON:
 * tensor names and shapes, and metadata) · zero padding to a multiple of 4 · the tensors' float32
 * values in header order · u32 CRC-32 of every byte before it.
 *
 * @module
 */

import { type NamedTensor, readTensors, tensorBytes, writeTensors } from "./tensor_codec.ts";

export type { NamedTensor } from "./tensor_codec.ts";

/** What a blob holds. */
export interface WeightsContent {
  tensors: NamedTensor[];
  meta: Record<string, unknown>;
}

/** A weights blob that cannot be read: truncated, damaged, or not a pad model at all. */
export class ModelFormatError extends Error {
  override name = "ModelFormatError";
}

const MAGIC = [0x50, 0x41, 0x44, 0x57]; // "PADW"
const FORMAT_VERSION = 1;
const PREFIX = 12;

/** Packs tensors and metadata into one blob. */
export function encodeWeights(content: WeightsContent): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({
    tensors: content.tensors.map((t) => ({ name: t.name, shape: t.shape })),
    meta: content.meta,
  }));
  const dataStart = align4(PREFIX + header.length);
  const bytes = new Uint8Array(dataStart + tensorBytes(content.tensors) + 4);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint32(4, FORMAT_VERSION, true);
  view.setUint32(8, header.length, true);
  bytes.set(header, PREFIX);
  const at = writeTensors(view, dataStart, content.tensors);
  view.setUint32(at, crc32(bytes.subarray(0, at)), true);
  return bytes;
}

/** Unpacks a blob; throws {@linkcode ModelFormatError} on any damage. */
export function decodeWeights(blob: Uint8Array): WeightsContent {
  if (!(blob instanceof Uint8Array)) {
    throw new ModelFormatError("Model weights are not bytes");
  }
  if (blob.length < PREFIX + 4 || MAGIC.some((b, i) => blob[i] !== b)) {
    throw new ModelFormatError(
      `Model weights are not a pad weights blob (${blob.length} bytes, no PADW header)`,
    );
  }
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const version = view.getUint32(4, true);
  if (version !== FORMAT_VERSION) {
    throw new ModelFormatError(
      `Model weights have format version ${version}; this pad reads version ${FORMAT_VERSION}`,
    );
  }
  const stored = view.getUint32(blob.length - 4, true);
  const actual = crc32(blob.subarray(0, blob.length - 4));
  if (stored !== actual) {
    throw new ModelFormatError(
      `Model weights are damaged or truncated: checksum mismatch over ${blob.length} bytes`,
    );
  }
  const headerLength = view.getUint32(8, true);
  if (PREFIX + headerLength > blob.length - 4) {
    throw new ModelFormatError(`Model weights header overruns the blob (${headerLength} bytes)`);
  }
  let header: { tensors: { name: string; shape: number[] }[]; meta: Record<string, unknown> };
  try {
    header = JSON.parse(new TextDecoder().decode(blob.subarray(PREFIX, PREFIX + headerLength)));
  } catch (cause) {
    throw new ModelFormatError("Model weights header is not valid JSON", { cause });
  }
  if (!Array.isArray(header?.tensors)) {
    throw new ModelFormatError("Model weights header lists no tensors");
  }
  for (const t of header.tensors) {
    if (
      typeof t?.name !== "string" || !Array.isArray(t.shape) ||
      !t.shape.every((d) => Number.isInteger(d) && d >= 0)
    ) {
      throw new ModelFormatError("Model weights header has a malformed tensor entry");
    }
  }
  let read: { tensors: NamedTensor[]; end: number };
  try {
    read = readTensors(view, align4(PREFIX + headerLength), blob.length - 4, header.tensors);
  } catch (error) {
    throw new ModelFormatError(`Model weights end early: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const { tensors, end: at } = read;
  if (at !== blob.length - 4) {
    throw new ModelFormatError(
      `Model weights have ${blob.length - 4 - at} bytes after the last tensor`,
    );
  }
  return { tensors, meta: header.meta ?? {} };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib computes it). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
