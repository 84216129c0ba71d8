/** Debian's prometheus-alertmanager, started on 127.0.0.1 for a test and stopped after it. */
import { waitFor } from "./wait.ts";

export const ALERTMANAGER = "/usr/bin/prometheus-alertmanager";

/** True when Debian's prometheus-alertmanager is installed. */
export function alertmanagerAvailable(): boolean {
  try {
    return Deno.statSync(ALERTMANAGER).isFile;
  } catch {
    return false;
  }
}

/** An alert as Alertmanager's v2 API lists it. */
export interface ListedAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

/** A running Alertmanager. */
export interface Alertmanager extends AsyncDisposable {
  url: string;
  /** The alerts it holds that have not ended. */
  alerts(): Promise<ListedAlert[]>;
}

/**
 * Starts Alertmanager on 127.0.0.1:`port` with a route to nowhere (it only holds alerts),
 * clustering off and its state in `dir`; resolves once it answers.
 */
export async function startAlertmanager(dir: string, port: number): Promise<Alertmanager> {
  Deno.mkdirSync(dir, { recursive: true });
  const config = `${dir}/alertmanager.yml`;
  Deno.writeTextFileSync(config, "route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n");
  const child = new Deno.Command(ALERTMANAGER, {
    args: [
      `--config.file=${config}`,
      `--storage.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
      "--log.level=warn",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  let ready = false;
  const poll = setInterval(() => {
    fetch(`${url}/-/ready`).then((r) => {
      ready = r.ok;
      return r.body?.cancel();
    }).catch(() => {});
  }, 50);
  try {
    await waitFor(() => ready, `Alertmanager on ${url}`, 20_000);
  } catch (error) {
    child.kill("SIGKILL");
    await child.status;
    throw error;
  } finally {
    clearInterval(poll);
  }
  return {
    url,
    async alerts() {
      const response = await fetch(`${url}/api/v2/alerts`);
      return await response.json();
    },
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}
