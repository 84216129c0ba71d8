/**
 * The few path functions pad uses, as `node:path`'s POSIX ones behave, without `node:path`:
 * importing any `node:` module but `node:sqlite` starts Deno's Node compatibility layer, which
 * costs start-up time and memory (tests/path_test.ts compares these with `node:path/posix`).
 *
 * pad runs on Linux and macOS (elsewhere it only probes listening ports), so paths are POSIX
 * here: `/` separates, a path is absolute when it starts with one, and `\` is a character.
 *
 * @module
 */

/** `path` with `.` and `..` segments, repeated slashes and a trailing one resolved away. */
function normalizeSegments(path: string, absolute: boolean): string {
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment !== "..") out.push(segment);
    else if (out.length > 0 && out.at(-1) !== "..") out.pop();
    else if (!absolute) out.push(".."); // above the root is the root
  }
  return (absolute ? "/" : "") + out.join("/");
}

/** The paths joined by `/` and normalised; a trailing slash stays; no path at all is ".". */
export function join(...paths: string[]): string {
  const joined = paths.filter((p) => p !== "").join("/");
  if (joined === "") return ".";
  const normal = normalizeSegments(joined, joined.startsWith("/"));
  const trailing = joined.endsWith("/") && normal !== "/";
  return normal === "" ? (trailing ? "./" : ".") : trailing ? `${normal}/` : normal;
}

/** The absolute path the paths lead to from the working directory, normalised, no trailing `/`. */
export function resolve(...paths: string[]): string {
  let resolved = "";
  for (let i = paths.length - 1; i >= 0 && !resolved.startsWith("/"); i--) {
    if (paths[i] !== "") resolved = resolved === "" ? paths[i]! : `${paths[i]}/${resolved}`;
  }
  if (!resolved.startsWith("/")) resolved = `${Deno.cwd()}/${resolved}`;
  return normalizeSegments(resolved, true);
}

/** `path` without its trailing slashes. */
function trimTrailing(path: string): string {
  let end = path.length;
  while (end > 1 && path[end - 1] === "/") end--;
  return path.slice(0, end);
}

/** The directory part: "." for a bare name, "/" for the root (slashes before the last stay). */
export function dirname(path: string): string {
  let end = path.length;
  while (end > 1 && path[end - 1] === "/") end--; // trailing slashes
  while (end > 1 && path[end - 1] !== "/") end--; // the last segment
  if (end <= 1) return path.startsWith("/") ? "/" : ".";
  // node:path keeps a leading "//" (POSIX leaves its meaning to the system).
  return end === 2 && path.startsWith("/") ? "//" : path.slice(0, end - 1);
}

/**
 * The last segment, without a trailing `/`, and without `suffix` when it ends with it (and is
 * more than it). node:path's returns "b/" for ("a/b/", ".db"), "/" for ("/", "a"): not this.
 */
export function basename(path: string, suffix?: string): string {
  if (suffix && path === suffix) return "";
  const trimmed = trimTrailing(path);
  const base = trimmed.slice(trimmed.lastIndexOf("/") + 1);
  return suffix && base !== suffix && base.endsWith(suffix) ? base.slice(0, -suffix.length) : base;
}

/** The last segment's extension from its last `.` ("" for none, for ".bashrc" and for ".."). */
export function extname(path: string): string {
  const base = basename(path);
  const dot = base.lastIndexOf(".");
  return dot <= 0 || base === ".." ? "" : base.slice(dot);
}

/** The path of a `file:` URL, percent-decoded; a TypeError for other URLs and encoded slashes. */
export function fileURLToPath(url: URL): string {
  const { protocol, hostname, pathname } = url;
  if (protocol !== "file:") throw new TypeError(`The URL must be of scheme file: ${url}`);
  if (hostname !== "") throw new TypeError(`A file: URL must have no host: ${url}`);
  if (/%2f/i.test(pathname)) throw new TypeError(`A file: URL must not encode "/": ${url}`);
  return decodeURIComponent(pathname);
}
