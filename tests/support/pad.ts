/** Test helpers: temporary databases, and the real pad CLI run as `deno task pad` runs it. */
import config from "../../deno.json" with { type: "json" };

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** The flags of deno.json's `pad` task (what the compiled binary gets), between `run` and `main.ts`. */
export function padTaskFlags(task: string = config.tasks.pad): string[] {
  const words = task.split(/\s+/);
  const start = words.indexOf("run") >= 0 ? words.indexOf("run") + 1 : words.indexOf("compile") + 1;
  return words.slice(start, words.indexOf("main.ts")).filter((w, i, all) =>
    w !== "--output" && all[i - 1] !== "--output"
  );
}

/** What a pad process printed and returned. */
export interface PadRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `pad ARGS` in a subprocess with the task's flags; `env` adds to the environment. */
export async function runPad(args: string[], env: Record<string, string> = {}): Promise<PadRun> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...padTaskFlags(), MAIN, ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A fresh temporary directory, removed when disposed. */
export function tempDir(): { path: string } & Disposable {
  const path = Deno.makeTempDirSync({ prefix: "pad_test_" });
  return { path, [Symbol.dispose]: () => Deno.removeSync(path, { recursive: true }) };
}
