/**
 * Real sockets for the probe tests: listeners opened by this process, sockets held by a Python
 * child (for options Deno cannot set), and a runner that sweeps as the unprivileged user `nobody`.
 */

import type { SweepOptions, SweepResult } from "../../src/probe/mod.ts";
import type { Family, OccupiedPort, Protocol } from "../../src/round.ts";

/** A socket this process holds open; `using` closes it. */
export interface TestListener extends Disposable {
  readonly protocol: Protocol;
  readonly hostname: string;
  readonly port: number;
  close(): void;
}

/** Opens a TCP listener or a bound UDP socket on `hostname:port`. */
export function openListener(protocol: Protocol, hostname: string, port: number): TestListener {
  const socket = protocol === "tcp"
    ? Deno.listen({ transport: "tcp", hostname, port })
    : Deno.listenDatagram({ transport: "udp", hostname, port });
  let open = true;
  const close = () => {
    if (open) socket.close();
    open = false;
  };
  return { protocol, hostname, port, close, [Symbol.dispose]: close };
}

/** The family of a literal address. */
export function familyOf(hostname: string): Family {
  return hostname.includes(":") ? 6 : 4;
}

/**
 * The first of `count` consecutive ports that are free for TCP and UDP on both families,
 * picked at random above 40000 so tests running side by side rarely meet.
 */
export function freePortBlock(count: number): number {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 40_000 + Math.floor(Math.random() * (20_000 - count));
    let free = true;
    for (let port = base; free && port < base + count; port++) {
      for (const protocol of ["tcp", "udp"] as const) {
        for (const hostname of ["0.0.0.0", "::"]) {
          try {
            openListener(protocol, hostname, port).close();
          } catch {
            free = false;
          }
        }
      }
    }
    if (free) return base;
  }
  throw new Error(`Found no ${count} consecutive free ports above 40000`);
}

/** True when `name` is an executable file in a directory of PATH. */
export function commandExists(name: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

/** A socket for {@linkcode holdWithPython}; `v6only` sets IPV6_V6ONLY, which Deno cannot. */
export interface PythonSocket {
  protocol: Protocol;
  hostname: string;
  port: number;
  v6only?: boolean;
}

/** Sockets held by a Python child until `close()`; `pid` is the Python process's own. */
export interface PythonHolder extends AsyncDisposable {
  readonly pid: number;
  close(): Promise<void>;
}

const HOLD_SCRIPT = `
import json, os, socket, sys
held = []
for spec in json.loads(sys.argv[1]):
    family = socket.AF_INET6 if ":" in spec["hostname"] else socket.AF_INET
    kind = socket.SOCK_STREAM if spec["protocol"] == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(family, kind)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if spec.get("v6only") else 0)
    s.bind((spec["hostname"], spec["port"]))
    if kind == socket.SOCK_STREAM:
        s.listen()
    held.append(s)
print(os.getpid(), flush=True)
sys.stdin.read()
`;

/** Starts `python3` holding `sockets`; resolves once they are all bound. */
export async function holdWithPython(sockets: PythonSocket[]): Promise<PythonHolder> {
  const child = new Deno.Command("python3", {
    args: ["-c", HOLD_SCRIPT, JSON.stringify(sockets)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  const stderr = new Response(child.stderr).text();
  const close = async () => {
    await child.stdin.close().catch(() => {});
    await reader.cancel();
    const [status, errors] = await Promise.all([child.status, stderr]);
    if (!status.success) throw new Error(`python3 failed: ${errors}`);
  };
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    await close();
    throw new Error(`python3 did not bind its sockets: got "${text}"`);
  }
  return { pid, close, [Symbol.asyncDispose]: close };
}

/** The uid and gid of `nobody`, the user unprivileged sweeps run as. */
const NOBODY = 65_534;

/** True when tests can switch to `nobody`: root, with `setpriv` installed. */
export function canRunAsNobody(): boolean {
  return Deno.uid() === 0 && commandExists("setpriv");
}

/**
 * Runs `createProbe(name).sweep(options)` in a fresh Deno process as user `nobody` and returns
 * its result. The probe's sources (and the few modules they import) are copied to a temporary directory `nobody` can read (the
 * repository may sit under a private home), with a `DENO_DIR` that `nobody` owns.
 */
export async function sweepAsNobody(
  name: "listen" | "procfs",
  options: Omit<SweepOptions, "signal">,
): Promise<SweepResult> {
  const dir = await Deno.makeTempDir({ prefix: "pad_probe_nobody_" });
  try {
    const source = new URL("../../src/", import.meta.url);
    await Deno.mkdir(`${dir}/src/probe`, { recursive: true });
    await Deno.mkdir(`${dir}/src/net`, { recursive: true });
    for (const file of ["errors.ts", "round.ts", "net/address.ts"]) {
      await Deno.copyFile(new URL(file, source), `${dir}/src/${file}`);
    }
    for await (const entry of Deno.readDir(new URL("probe/", source))) {
      if (entry.isFile && entry.name.endsWith(".ts")) {
        await Deno.copyFile(
          new URL(`probe/${entry.name}`, source),
          `${dir}/src/probe/${entry.name}`,
        );
      }
    }
    await Deno.writeTextFile(
      `${dir}/sweep.ts`,
      `import { createProbe } from "./src/probe/mod.ts";
const [name, options] = JSON.parse(Deno.args[0]);
console.log(JSON.stringify(await createProbe(name).sweep(options)));
`,
    );
    await Deno.mkdir(`${dir}/deno_dir`);
    await Deno.chown(`${dir}/deno_dir`, NOBODY, NOBODY);
    // makeTempDir creates 0700; everything else is created readable.
    await Deno.chmod(dir, 0o755);
    const output = await new Deno.Command("setpriv", {
      args: [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        "--clear-groups",
        Deno.execPath(),
        "run",
        "--no-config",
        "--unstable-net",
        "--allow-all",
        `${dir}/sweep.ts`,
        JSON.stringify([name, options]),
      ],
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        DENO_DIR: `${dir}/deno_dir`,
        HOME: `${dir}/deno_dir`,
        NO_COLOR: "1",
      },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    if (!output.success) {
      throw new Error(`The sweep as nobody failed: ${new TextDecoder().decode(output.stderr)}`);
    }
    return JSON.parse(stdout) as SweepResult;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `net.ipv4.ip_unprivileged_port_start`: ports below it need privilege to bind. */
export function unprivilegedPortStart(): number {
  return Number(Deno.readTextFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start").trim());
}

/** "tcp4:40001"-style key of an occupied port, for exact comparisons. */
export function key(port: Pick<OccupiedPort, "protocol" | "family" | "port">): string {
  return `${port.protocol}${port.family}:${port.port}`;
}

/** The keys of a sweep's occupied ports, in the sweep's order. */
export function keys(result: SweepResult): string[] {
  return result.occupied.map(key);
}
