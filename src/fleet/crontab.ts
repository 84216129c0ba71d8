/**
 * The user's crontab, read and written through crontab(1), which validates every line before it
 * installs anything and tells cron to reload.
 *
 * @module
 */
import { errorMessage, PadError } from "../errors.ts";

const decoder = new TextDecoder();

/** The crontab of the user running pad; an empty string when there is none. */
export function readCrontab(): string {
  const output = run(() =>
    new Deno.Command("crontab", { args: ["-l"], stdin: "null" }).outputSync()
  );
  if (output.success) return decoder.decode(output.stdout);
  const stderr = decoder.decode(output.stderr).trim();
  // Vixie cron, Debian's and cronie say "no crontab for USER" (exit 1) when there is none.
  if (/no crontab for/i.test(stderr)) return "";
  throw new PadError(`crontab -l failed (exit ${output.code}): ${stderr || "no message"}`);
}

/** Replaces the user's crontab with `text` (crontab(1) refuses it whole if a line is invalid). */
export async function writeCrontab(text: string): Promise<void> {
  const child = run(() =>
    new Deno.Command("crontab", {
      args: ["-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn()
  );
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const output = await child.output();
  if (!output.success) {
    const stderr = decoder.decode(output.stderr).trim().replaceAll("\n", "; ");
    throw new PadError(
      `crontab refused the new crontab, nothing was changed (exit ${output.code}): ${stderr}`,
    );
  }
}

/** Runs `start`, turning a missing crontab(1) into one error that says what to install. */
function run<T>(start: () => T): T {
  try {
    return start();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new PadError(
        "crontab(1) was not found: install it (Debian: apt-get install cron), " +
          'or add the lines that "pad cron" prints to your scheduler yourself',
        { cause: error },
      );
    }
    throw new PadError(`Cannot run crontab: ${errorMessage(error)}`, { cause: error });
  }
}
