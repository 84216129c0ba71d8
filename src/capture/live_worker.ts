/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
/**
 * The live capture worker: runs a {@linkcode CapturePump} and relays its messages, so the
 * caller's thread may run long synchronous work (a `listen` sweep) while the capture keeps up.
 *
 * @module
 */

import { CapturePump } from "./capture_pump.ts";
import type { ToWorker } from "./live_protocol.ts";

const pump = new CapturePump((message, transfer = []) => self.postMessage(message, transfer));

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === "start") pump.start(message.options);
  else if (message.type === "stop") pump.stop();
};
