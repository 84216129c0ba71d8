/**
 * A file written through a 1 MiB buffer: what the streaming capture writers put their records
 * into, for files too big to build in memory at once.
 *
 * @module
 */

/** Creates (or truncates) a file; bytes reach it when the buffer fills and at `close()`. */
export class BufferedFile implements Disposable {
  /** The buffer: fill the bytes {@linkcode reserve} hands out. */
  readonly buffer = new Uint8Array(1 << 20);
  readonly #file: Deno.FsFile;
  #used = 0;

  constructor(path: string) {
    this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
  }

  /** Makes room for `size` bytes and returns where they start in {@linkcode buffer}. */
  reserve(size: number): number {
    if (this.#used + size > this.buffer.length) this.#flush();
    if (size > this.buffer.length) throw new RangeError(`A record of ${size} bytes is too large`);
    const at = this.#used;
    this.#used += size;
    return at;
  }

  /** Appends `bytes`. */
  append(bytes: Uint8Array): void {
    this.buffer.set(bytes, this.reserve(bytes.length));
  }

  /** Flushes and closes the file. */
  close(): void {
    this.#flush();
    this.#file.close();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #flush(): void {
    let at = 0;
    while (at < this.#used) at += this.#file.writeSync(this.buffer.subarray(at, this.#used));
    this.#used = 0;
  }
}
