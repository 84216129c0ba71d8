/** Test helpers: temporary databases, and the real pad CLI run as `deno task pad` runs it. */
import config from "../../deno.json" with { type: "json" };

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Options only `deno compile` has (they take a value); they do not change how pad runs. */
const COMPILE_ONLY = new Set(["--output", "--include"]);

/**
 * The runtime flags of a deno.json task (`pad`: what `deno task pad` and, through `compile`,
 * the binary get), the words between `run`/`compile` and `main.ts`.
 */
export function padTaskFlags(task: string = config.tasks.pad): string[] {
  const words = task.split(/\s+/);
  const start = words.indexOf("run") >= 0 ? words.indexOf("run") + 1 : words.indexOf("compile") + 1;
  return words.slice(start, words.indexOf("main.ts")).filter((w, i, all) =>
    !COMPILE_ONLY.has(w) && !COMPILE_ONLY.has(all[i - 1]!)
  );
}

/** What a pad process printed and returned. */
export interface PadRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The command line that runs pad as `deno task pad` does, before pad's own arguments. */
export function padCommandLine(): string[] {
  return [Deno.execPath(), "run", ...padTaskFlags(), MAIN];
}

/**
 * Starts `PREFIX… pad ARGS` (a prefix such as `setpriv …` runs pad under it) without waiting;
 * stdout and stderr are piped.
 */
export function spawnPad(args: string[], prefix: string[] = []): Deno.ChildProcess {
  const [program, ...rest] = [...prefix, ...padCommandLine(), ...args];
  return new Deno.Command(program!, {
    args: rest,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** How {@linkcode runPad} runs pad. */
export interface RunPadOptions {
  /** Added to the environment. */
  env?: Record<string, string>;
  /** Working directory (default this process's). */
  cwd?: string;
  /** A command pad runs under, e.g. `["/bin/sh", "-c", 'umask 077 && exec "$@"', "sh"]`. */
  prefix?: string[];
}

/** Runs `PREFIX… pad ARGS` in a subprocess with the task's flags and waits for it. */
export async function runPad(args: string[], options: RunPadOptions = {}): Promise<PadRun> {
  const [program, ...rest] = [...(options.prefix ?? []), ...padCommandLine(), ...args];
  const output = await new Deno.Command(program!, {
    args: rest,
    env: { NO_COLOR: "1", ...options.env },
    cwd: options.cwd,
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
