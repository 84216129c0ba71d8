/**
 * A tiny classic-pcap writer (little-endian, microsecond timestamps) so tests and benchmarks make
 * their own fixtures.
 *
 * @module
 */

import { BufferedFile } from "./buffered_file.ts";

/** One record to write. */
export interface PcapRecord {
  data: Uint8Array;
  /** Capture time in milliseconds since the epoch (default 1,700,000,000,000). */
  tsMs?: number;
  /** Length on the wire (default `data.length`); larger than it means "cut by the snaplen". */
  wireLength?: number;
}

const MAGIC_MICROSECONDS = 0xa1b2c3d4;
const FILE_HEADER_SIZE = 24;
const RECORD_HEADER_SIZE = 16;
const DEFAULT_TS_MS = 1_700_000_000_000;
const DEFAULT_SNAPLEN = 262_144;

function fileHeader(linkType: number, snaplen: number): Uint8Array {
  const header = new Uint8Array(FILE_HEADER_SIZE);
  const view = new DataView(header.buffer);
  view.setUint32(0, MAGIC_MICROSECONDS, true);
  view.setUint16(4, 2, true); // version 2.4
  view.setUint16(6, 4, true);
  view.setInt32(8, 0, true); // thiszone
  view.setUint32(12, 0, true); // sigfigs
  view.setUint32(16, snaplen, true);
  view.setUint32(20, linkType, true);
  return header;
}

function writeRecordHeader(view: DataView, at: number, record: PcapRecord): void {
  const tsMs = record.tsMs ?? DEFAULT_TS_MS;
  const seconds = Math.floor(tsMs / 1000);
  view.setUint32(at, seconds, true);
  view.setUint32(at + 4, Math.round((tsMs - seconds * 1000) * 1000), true);
  view.setUint32(at + 8, record.data.length, true);
  view.setUint32(at + 12, record.wireLength ?? record.data.length, true);
}

/** The bytes of a whole pcap file holding `records`. */
export function encodePcap(
  linkType: number,
  records: Iterable<PcapRecord>,
  snaplen = DEFAULT_SNAPLEN,
): Uint8Array {
  const list = [...records];
  const size = list.reduce((sum, r) => sum + RECORD_HEADER_SIZE + r.data.length, FILE_HEADER_SIZE);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  bytes.set(fileHeader(linkType, snaplen));
  let at = FILE_HEADER_SIZE;
  for (const record of list) {
    writeRecordHeader(view, at, record);
    bytes.set(record.data, at + RECORD_HEADER_SIZE);
    at += RECORD_HEADER_SIZE + record.data.length;
  }
  return bytes;
}

/** Writes `records` to a new pcap file at `path`. */
export function writePcap(
  path: string,
  linkType: number,
  records: Iterable<PcapRecord>,
  snaplen = DEFAULT_SNAPLEN,
): void {
  Deno.writeFileSync(path, encodePcap(linkType, records, snaplen));
}

/** Streams records to a pcap file through a 1 MiB buffer, for files too big to build at once. */
export class PcapWriter implements Disposable {
  readonly #out: BufferedFile;
  readonly #view: DataView;

  /** Creates (or truncates) `path` and writes the file header. */
  constructor(path: string, linkType: number, snaplen = DEFAULT_SNAPLEN) {
    this.#out = new BufferedFile(path);
    this.#view = new DataView(this.#out.buffer.buffer);
    this.#out.append(fileHeader(linkType, snaplen));
  }

  /** Appends one record. */
  write(record: PcapRecord): void {
    const at = this.#out.reserve(RECORD_HEADER_SIZE + record.data.length);
    writeRecordHeader(this.#view, at, record);
    this.#out.buffer.set(record.data, at + RECORD_HEADER_SIZE);
  }

  /** Flushes and closes the file. */
  close(): void {
    this.#out.close();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
