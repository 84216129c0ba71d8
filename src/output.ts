/** Where commands write their data (stdout in pad, a buffer in tests). Logs never go here. */
export interface Output {
  write(text: string): void;
  /** Whether a person is reading: chooses the aligned table over tab-separated values. */
  readonly isTerminal: boolean;
  /** The terminal's width in characters, where it is a terminal. */
  readonly columns?: number;
}

const encoder = new TextEncoder();

/** Set once the reader of stdout went away (`pad inspect … | head -1`). */
let readerGone = false;

/**
 * Standard output, written synchronously so a following `Deno.exit()` loses nothing. When the
 * reader closes the pipe, the rest is dropped quietly and the command ends as it would have
 * (exit 0): what was not read was not wanted, and a detect must still store its work.
 */
export const stdout: Output = {
  write(text: string) {
    if (readerGone) return;
    const bytes = encoder.encode(text);
    let written = 0;
    try {
      while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
    } catch (error) {
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
      readerGone = true;
    }
  },
  get isTerminal() {
    return Deno.stdout.isTerminal();
  },
  get columns() {
    try {
      return Deno.stdout.isTerminal() ? Deno.consoleSize().columns : undefined;
    } catch {
      return undefined;
    }
  },
};

/** An {@linkcode Output} that keeps what is written, for tests. */
export class BufferOutput implements Output {
  text = "";
  constructor(readonly isTerminal = false, readonly columns?: number) {}
  write(text: string): void {
    this.text += text;
  }
}
