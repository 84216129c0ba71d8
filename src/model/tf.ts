/**
 * Lazy, quiet loading of TensorFlow.js: only the model imports it, and only when a detector is
 * created or loaded, so `pad collect`, `inspect` and `prune` never pay for it.
 *
 * TensorFlow.js writes to the console on its own: a "looks like you are running TensorFlow.js in
 * Node.js" banner on the CPU backend's first tensor, and a few layers warn with `console.warn`
 * directly. cron mails whatever reaches the console, so: production mode (which silences
 * TensorFlow's own warn/log helpers, the banner among them, and skips debug checks), the first
 * tensor written at load time inside {@linkcode quietly}, and {@linkcode quietly} around model
 * construction.
 *
 * Only `@tensorflow/tfjs-core`, `-layers` and `-backend-cpu` are imported, not the
 * `@tensorflow/tfjs` union package: the layers bundle registers the gradients training needs,
 * but nothing registers the chained tensor methods (`x.flatten()`), so code paths that use them
 * (the Orthogonal initializer) are avoided.
 *
 * @module
 */

import type * as TfCore from "@tensorflow/tfjs-core";
import type * as TfLayers from "@tensorflow/tfjs-layers";
import { registerFastKernels } from "./kernels.ts";

/** The two TensorFlow.js modules the model uses. */
export interface Tf {
  core: typeof TfCore;
  layers: typeof TfLayers;
}

let loading: Promise<Tf> | undefined;

/** Imports TensorFlow.js once, on the pure-JS `cpu` backend, with its console output off. */
export function loadTf(): Promise<Tf> {
  loading ??= (async () => {
    const [core, layers] = await Promise.all([
      import("@tensorflow/tfjs-core"),
      import("@tensorflow/tfjs-layers"),
      import("@tensorflow/tfjs-backend-cpu"),
    ]);
    core.enableProdMode();
    const ok = await core.setBackend("cpu");
    if (!ok) throw new Error("TensorFlow.js could not start its cpu backend");
    registerFastKernels(core);
    // The banner is printed on the backend's first tensor write: make that write now, quietly.
    quietly(() => core.scalar(0).dispose());
    return { core, layers };
  })();
  return loading;
}

type ConsoleMethod = "log" | "warn" | "info" | "debug";
const METHODS: ConsoleMethod[] = ["log", "warn", "info", "debug"];

/** Runs `f` with console.log/warn/info/debug muted (synchronously: nothing else can log meanwhile). */
export function quietly<T>(f: () => T): T {
  const saved = METHODS.map((m) => console[m]);
  for (const m of METHODS) console[m] = () => {};
  try {
    return f();
  } finally {
    METHODS.forEach((m, i) => (console[m] = saved[i]!));
  }
}
