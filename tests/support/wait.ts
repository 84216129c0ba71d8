/** Waiting on a condition instead of sleeping for a guessed time. */

/**
 * Resolves once `condition()` is true (checking every 20 ms); rejects after `timeoutMs` with
 * `what` in the message. A condition that throws (a database not created yet) counts as false.
 */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (condition()) return;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
