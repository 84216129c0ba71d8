/// <reference lib="deno.worker" />
/**
 * A second connection that keeps writing new rounds (as a collector would) until told to stop,
 * then reports how many it wrote and any error it met.
 */
import { openDatabase } from "../../src/store/database.ts";
import { seedRounds } from "./seed.ts";

self.onmessage = async (event: MessageEvent<{ path: string; start: number }>) => {
  const { path, start } = event.data;
  const db = openDatabase(path);
  let stop = false;
  self.onmessage = () => stop = true;
  const ids: number[] = [];
  let error: string | null = null;
  try {
    for (let i = 0; !stop; i++) {
      ids.push(...seedRounds(db, [{ start: start + i, ports: [8080], packets: 20 }]));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } catch (e) {
    error = String(e);
  }
  db.close();
  self.postMessage({ ids, error });
};
