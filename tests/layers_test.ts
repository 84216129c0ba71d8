/**
 * The import graph tells the data flow README states: producers (probe, capture) → store →
 * model → detect → report and fleet, with the round's vocabulary at the bottom. Each rule is
 * checked on every module's static and dynamic imports, so a wrong import fails here.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const SRC = join(ROOT, "src");

/** The layer a module belongs to, by its path under src/ (or ffi/). */
function layerOf(path: string): string {
  const rel = relative(ROOT, path);
  if (rel.startsWith("ffi/")) return "ffi";
  const [top, next] = relative(SRC, path).split("/");
  return next === undefined ? top!.replace(/\.ts$/, "") : top!;
}

/** Every module under src/ and the pad modules it imports (as absolute paths). */
function importsOfSource(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) walk(path);
      else if (entry.name.endsWith(".ts")) {
        const text = Deno.readTextFileSync(path);
        const specifiers = [...text.matchAll(/(?:from|import\()\s*"(\.{1,2}\/[^"]+)"/g)]
          .map((m) => join(dirname(path), m[1]!))
          .filter((p) => p.endsWith(".ts"));
        graph.set(path, specifiers);
      }
    }
  };
  walk(SRC);
  return graph;
}

/** Layers each layer must never import. */
const FORBIDDEN: Record<string, string[]> = {
  round: ["net", "probe", "capture", "store", "model", "detect", "report", "fleet", "commands"],
  net: ["probe", "capture", "store", "model", "detect", "report", "fleet", "commands"],
  probe: ["capture", "store", "model", "detect", "report", "fleet", "commands"],
  capture: ["probe", "store", "model", "detect", "report", "fleet", "commands"],
  store: ["ffi", "probe", "capture", "model", "detect", "report", "fleet", "commands"],
  model: ["ffi", "probe", "capture", "store", "detect", "report", "fleet", "commands"],
  detect: ["ffi", "probe", "capture", "report", "fleet", "commands"],
  report: ["ffi", "probe", "capture", "model", "detect", "fleet", "commands"],
  fleet: ["ffi", "probe", "capture", "model", "detect", "report", "commands"],
};

Deno.test("imports point one way: round → producers → store → model → detect → report, fleet → commands", () => {
  const wrong: string[] = [];
  for (const [module, imports] of importsOfSource()) {
    const from = layerOf(module);
    for (const target of imports) {
      const to = layerOf(target);
      if (FORBIDDEN[from]?.includes(to)) {
        wrong.push(`${relative(ROOT, module)} (${from}) imports ${relative(ROOT, target)} (${to})`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("SQL statements are prepared only in the store", () => {
  const outside = [...importsOfSource().keys()].filter((path) =>
    layerOf(path) !== "store" && /\.prepare\(/.test(Deno.readTextFileSync(path))
  ).map((path) => relative(ROOT, path));
  assert.deepEqual(outside, []);
});
