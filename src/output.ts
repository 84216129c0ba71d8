/** Where commands write their data (stdout in pad, a buffer in tests). Logs never go here. */
export interface Output {
  write(text: string): void;
  /** Whether a person is reading: chooses the aligned table over tab-separated values. */
  readonly isTerminal: boolean;
}

const encoder = new TextEncoder();

/** Standard output, written synchronously so a following `Deno.exit()` loses nothing. */
export const stdout: Output = {
  write(text: string) {
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
  },
  get isTerminal() {
    return Deno.stdout.isTerminal();
  },
};

/** An {@linkcode Output} that keeps what is written, for tests. */
export class BufferOutput implements Output {
  text = "";
  constructor(readonly isTerminal = false) {}
  write(text: string): void {
    this.text += text;
  }
}
