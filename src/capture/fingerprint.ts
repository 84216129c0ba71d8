/**
 * A capture file's fingerprint, to know it when it is imported again: SHA-256 of its size and
 * of its first and last MiB (the whole file up to 2 MiB). Reading all of a large capture twice
 * would cost as much as the import; a capture's first and last packets carry their time stamps,
 * so two different captures of the same size share both ends only by copying.
 *
 * @module
 */
import { createHash } from "node:crypto";

const SAMPLE = 1 << 20;

/** The fingerprint (hex) and size of the file at `path`. */
export function fileFingerprint(path: string): { fingerprint: string; bytes: number } {
  using file = Deno.openSync(path);
  const bytes = file.statSync().size;
  const hash = createHash("sha256").update(`${bytes}\n`);
  const read = (from: number, length: number) => {
    const buffer = new Uint8Array(length);
    file.seekSync(from, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < length) {
      const n = file.readSync(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    hash.update(buffer.subarray(0, filled));
  };
  if (bytes <= 2 * SAMPLE) {
    read(0, bytes);
  } else {
    read(0, SAMPLE);
    read(bytes - SAMPLE, SAMPLE);
  }
  return { fingerprint: hash.digest("hex"), bytes };
}
