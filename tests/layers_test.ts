/**
 * The import graph tells the data flow README states: producers (probe, capture) → store →
 * model → detect → report and fleet, with the round's vocabulary at the bottom. Each rule is
 * checked on every module's static and dynamic imports, so a wrong import fails here. And
 * start-up loads the commands' definitions only: their implementations load when they run.
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
  round: [
    "net",
    "probe",
    "capture",
    "store",
    "model",
    "detect",
    "report",
    "fleet",
    "cli",
    "commands",
  ],
  net: ["probe", "capture", "store", "model", "detect", "report", "fleet", "cli", "commands"],
  probe: ["capture", "store", "model", "detect", "report", "fleet", "cli", "commands"],
  capture: ["probe", "store", "model", "detect", "report", "fleet", "cli", "commands"],
  store: ["ffi", "probe", "capture", "model", "detect", "report", "fleet", "cli", "commands"],
  model: ["ffi", "probe", "capture", "store", "detect", "report", "fleet", "cli", "commands"],
  detect: ["ffi", "probe", "capture", "report", "fleet", "cli", "commands"],
  report: ["ffi", "probe", "capture", "model", "detect", "fleet", "cli", "commands"],
  fleet: ["ffi", "probe", "capture", "model", "detect", "report", "cli", "commands"],
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

/** The modules `entry` loads (main.ts: before a command runs): what it imports or re-exports. */
function staticModules(entry = "main.ts"): string[] {
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    // `import type` is erased, and `import(…)` loads only when the command runs.
    const text = Deno.readTextFileSync(path);
    for (
      const m of text.matchAll(/^(?:import|export) (?!type )[^;]*?from "(\.{1,2}\/[^"]+\.ts)"/gm)
    ) {
      visit(join(dirname(path), m[1]!));
    }
  };
  visit(join(ROOT, entry));
  return [...seen];
}

Deno.test("start-up loads the commands' definitions, not their implementations nor SQLite", () => {
  const heavy = ["commands", "ffi", "probe", "capture", "model", "report", "fleet"];
  const loaded = staticModules().filter((path) =>
    heavy.includes(layerOf(path)) || /from "node:sqlite"/.test(Deno.readTextFileSync(path))
  ).map((path) => relative(ROOT, path));
  assert.deepEqual(loaded, []);
});

// Any node: module but node:sqlite (a native binding) starts Deno's Node compatibility layer,
// which costs start-up time and memory: src/path.ts stands in for node:path and node:url. An npm
// package brings Deno's npm resolution (4 MiB, 10 ms) and may import node: modules itself
// (commander and logtape did): none is loaded up front on these paths; smol-toml only when there
// is a configuration file to read.
Deno.test("start-up, collect, its capture worker, import, its reading worker, status and inspect load no node: module but node:sqlite, nor npm packages", () => {
  const entries = [
    "main.ts",
    "src/config.ts",
    "src/commands/collect.ts",
    "src/capture/live_worker.ts",
    "src/commands/import.ts",
    "src/capture/import_worker.ts",
    "src/commands/status.ts",
    "src/commands/inspect.ts",
  ];
  const loading = entries.flatMap(staticModules).filter((path) =>
    /^import (?!type )(?:[^;]*?from )?"(?!\.|node:sqlite")/m.test(
      Deno.readTextFileSync(path),
    )
  ).map((path) => relative(ROOT, path));
  assert.deepEqual([...new Set(loading)], []);
});
