/**
 * Finds and opens libpcap on first use, so that code paths which never capture run on hosts
 * without it.
 *
 * @module
 */

import { type PcapSymbols, symbols } from "./symbols.ts";

/** The environment variable that names a libpcap to load before the platform defaults. */
export const LIBPCAP_ENV = "PAD_LIBPCAP";

/** Names tried after `$PAD_LIBPCAP`: Debian/Ubuntu and most Linux, old Debian, then macOS. */
const DEFAULT_NAMES = [
  "libpcap.so.1",
  "libpcap.so.0.8",
  "libpcap.dylib",
  "libpcap.A.dylib",
] as const;

let library: Deno.DynamicLibrary<typeof symbols> | undefined;
let loadedPath: string | undefined;

/** The paths `loadLibpcap()` tries, in order: `$PAD_LIBPCAP` (when readable and set) first. */
export function libpcapCandidates(): string[] {
  const candidates: string[] = [];
  // Reading the variable without env permission would throw; without it there is no override.
  if (Deno.permissions.querySync({ name: "env", variable: LIBPCAP_ENV }).state === "granted") {
    const override = Deno.env.get(LIBPCAP_ENV);
    if (override) candidates.push(override);
  }
  candidates.push(...DEFAULT_NAMES);
  return candidates;
}

/**
 * Opens the first of `candidates` that loads (a new handle each call). Throws one `Error` naming
 * every path tried with its reason, the individual failures in `cause`.
 */
export function openLibpcap(
  candidates: readonly string[] = libpcapCandidates(),
): { library: Deno.DynamicLibrary<typeof symbols>; path: string } {
  const failures: Error[] = [];
  for (const path of candidates) {
    try {
      return { library: Deno.dlopen(path, symbols), path };
    } catch (error) {
      failures.push(error instanceof Error ? error : new Error(String(error)));
    }
  }
  const tried = candidates.map((path, i) => `"${path}" (${failures[i]?.message ?? "unknown"})`);
  throw new Error(`Cannot load libpcap: tried ${tried.join(", ")}`, {
    cause: new AggregateError(failures, "Every libpcap candidate failed to load"),
  });
}

/** Returns libpcap's symbols, opening the library on the first call (see `openLibpcap`). */
export function libpcap(): PcapSymbols {
  if (library === undefined) {
    const opened = openLibpcap();
    library = opened.library;
    loadedPath = opened.path;
  }
  return library.symbols;
}

/** The path libpcap was loaded from, or `undefined` before the first successful load. */
export function libpcapPath(): string | undefined {
  return loadedPath;
}
