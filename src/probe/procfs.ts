/**
 * The procfs probe (Linux): read the kernel's socket tables instead of binding anything.
 *
 * It reads `/proc/net/{tcp,tcp6,udp,udp6}` (about 10 ms) and finds each socket's process by the
 * `socket:[INODE]` links under `/proc/<pid>/fd`. It never touches a port, so it cannot collide
 * with a service starting up, and it sees ports below 1024 without privileges.
 *
 * Decisions:
 * - Occupied means a socket holds the local port in any state but TIME_WAIT: LISTEN and
 *   unconnected UDP (`UNCONN`), but also live connections (ESTABLISHED, SYN_SENT, CLOSE_WAIT, ...),
 *   since the listen probe cannot bind their ports either. TIME_WAIT is skipped: no process owns
 *   it, it ends by itself, and the listen probe (SO_REUSEADDR) reads most of them as free.
 *   Several sockets on one (port, protocol, family) merge into one entry that shows the most
 *   telling one: listening before connected, wildcard address before a specific one.
 * - Family is the socket's own: `tcp`/`udp` are 4, `tcp6`/`udp6` are 6, except an IPv4-mapped
 *   local address (`::ffff:a.b.c.d`, an IPv4 connection accepted by a dual-stack listener, or an
 *   IPv6 socket bound to a mapped address): it carries only IPv4, so it counts as family 4.
 *   A dual-stack `::` socket is one IPv6 socket, family 6: /proc/net does not show IPV6_V6ONLY,
 *   so unlike the listen probe this one cannot add family 4 for it.
 * - Where `/proc/<pid>/fd` cannot be read (another user's process when not root), the port is
 *   still reported, with its socket's uid but no pid; processes that exit mid-scan are skipped.
 * - TCP sockets that are bound but neither listening nor connected do not appear in /proc/net,
 *   so this probe misses them; the listen probe sees them.
 *
 * @module
 */

import { PadError } from "../errors.ts";
import { formatIpv4, formatIpv6 } from "../net/address.ts";
import { type Family, isListeningState, type OccupiedPort, type Protocol } from "../round.ts";
import {
  compareOccupied,
  errorKind,
  ErrorTally,
  type Probe,
  resolveSweepOptions,
  type SweepOptions,
  type SweepResult,
  YieldClock,
} from "./types.ts";

/** One line of `/proc/net/{tcp,tcp6,udp,udp6}`, decoded. */
export interface ProcNetSocket {
  protocol: Protocol;
  /** 4 also for IPv4-mapped addresses in `tcp6`/`udp6`. */
  family: Family;
  /** Local address: `0.0.0.0`, `127.0.0.1`, `::`, `::1`, `::ffff:127.0.0.1`, ... */
  address: string;
  port: number;
  remoteAddress: string;
  remotePort: number;
  /** `LISTEN`, `ESTABLISHED`, `TIME_WAIT`, ...; `UNCONN` for unconnected UDP. */
  state: string;
  uid: number;
  /** 0 for sockets no file descriptor refers to (TIME_WAIT, half-open requests). */
  inode: number;
}

/** Options of {@linkcode ProcfsProbe}. */
export interface ProcfsProbeOptions {
  /** Where procfs is mounted. */
  root?: string;
  /** The longest stretch of synchronous /proc reading between two yields to the event loop. */
  yieldEveryMs?: number;
}

// include/net/tcp_states.h; UDP uses TCP_ESTABLISHED (connected) and TCP_CLOSE (unconnected).
const TCP_STATES = [
  "",
  "ESTABLISHED",
  "SYN_SENT",
  "SYN_RECV",
  "FIN_WAIT1",
  "FIN_WAIT2",
  "TIME_WAIT",
  "CLOSE",
  "CLOSE_WAIT",
  "LAST_ACK",
  "LISTEN",
  "CLOSING",
  "NEW_SYN_RECV",
] as const;
const TCP_CLOSE = 7;

// The kernel prints each 32-bit word of an address with %08X of its in-memory value, so on a
// little-endian host the bytes of every word come out reversed.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const LINE =
  /^\s*\d+:\s+([0-9A-Fa-f]+):([0-9A-Fa-f]{4})\s+([0-9A-Fa-f]+):([0-9A-Fa-f]{4})\s+([0-9A-Fa-f]{2})\s+\S+\s+\S+\s+\S+\s+(\d+)\s+\d+\s+(\d+)/;

/**
 * Decodes the text of one `/proc/net` socket table; `family` is the file's (6 for `tcp6`).
 * Throws `SyntaxError` naming the line when a line does not have the kernel's format.
 */
export function parseProcNet(text: string, protocol: Protocol, family: Family): ProcNetSocket[] {
  const sockets: ProcNetSocket[] = [];
  const hexLength = family === 4 ? 8 : 32;
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.trim() === "" || /^\s*sl\s/.test(line)) continue;
    const match = LINE.exec(line);
    const [, local, port, remote, remotePort, state, uid, inode] = match ?? [];
    if (
      local?.length !== hexLength || remote?.length !== hexLength || !port || !remotePort ||
      !state || !uid || !inode
    ) {
      throw new SyntaxError(
        `Line ${index + 1} of /proc/net/${fileName(protocol, family)} is malformed: "${line}"`,
      );
    }
    const code = parseInt(state, 16);
    const address = formatAddress(local);
    sockets.push({
      protocol,
      family: address.startsWith("::ffff:") && address.includes(".") ? 4 : family,
      address,
      port: parseInt(port, 16),
      remoteAddress: formatAddress(remote),
      remotePort: parseInt(remotePort, 16),
      state: protocol === "udp" && code === TCP_CLOSE ? "UNCONN" : TCP_STATES[code] ?? `0x${state}`,
      uid: Number(uid),
      inode: Number(inode),
    });
  }
  return sockets;
}

/** Sweeps ports by reading the kernel's socket tables under `/proc`. */
export class ProcfsProbe implements Probe {
  readonly name = "procfs" as const;
  readonly #root: string;
  readonly #yieldEveryMs: number;

  constructor(options: ProcfsProbeOptions = {}) {
    this.#root = options.root ?? "/proc";
    this.#yieldEveryMs = options.yieldEveryMs ?? 20;
  }

  /** Sweeps the requested ports; rejects with `signal.reason` when aborted. */
  async sweep(options?: SweepOptions): Promise<SweepResult> {
    const { targets, from, to, signal } = resolveSweepOptions(options);
    signal?.throwIfAborted();
    const startedMs = Date.now();
    const started = performance.now();
    const errors = new ErrorTally();
    const clock = new YieldClock(this.#yieldEveryMs);

    const wanted = new Set(targets.map((t) => `${t.protocol}/${t.family}`));
    const groups = new Map<string, ProcNetSocket[]>();
    for (const [protocol, family] of await this.#tablesFor(targets)) {
      const text = await this.#readTable(protocol, family);
      if (text === undefined) continue;
      let sockets: ProcNetSocket[];
      try {
        sockets = parseProcNet(text, protocol, family);
      } catch (error) {
        errors.add(errorKind(error), `/proc/net/${fileName(protocol, family)}`, error);
        continue;
      }
      for (const socket of sockets) {
        if (socket.port < from || socket.port > to || socket.state === "TIME_WAIT") continue;
        const key = `${socket.protocol}/${socket.family}`;
        if (!wanted.has(key)) continue;
        const group = groups.get(`${key}/${socket.port}`);
        if (group) group.push(socket);
        else groups.set(`${key}/${socket.port}`, [socket]);
      }
    }
    signal?.throwIfAborted();

    const inodes = new Set<number>();
    for (const group of groups.values()) {
      for (const socket of group) if (socket.inode !== 0) inodes.add(socket.inode);
    }
    const owners = await this.#findOwners(inodes, errors, clock, signal);
    const commands = new Map<number, string | undefined>();
    const occupied = [...groups.values()].map((group) =>
      this.#merge(group, owners, commands, errors)
    );
    occupied.sort(compareOccupied);
    return {
      probe: this.name,
      startedMs,
      durationMs: performance.now() - started,
      occupied,
      // Reading the tables needs no privilege: every port is seen.
      unknown: [],
      errors: errors.toArray(),
    };
  }

  /**
   * The tables to read: `tcp` for IPv4 TCP, `tcp6` for IPv6 TCP and also for IPv4 TCP, since
   * sockets with mapped addresses there are IPv4; the same for UDP.
   */
  async #tablesFor(targets: readonly { protocol: Protocol; family: Family }[]) {
    // Checked first and for any target: without it this is no Linux procfs at all.
    const probePath = `${this.#root}/net/tcp`;
    try {
      await Deno.stat(probePath);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new PadError(
        `Cannot read "${probePath}": the procfs probe needs Linux's /proc; use "--probe listen"`,
        { cause: error },
      );
    }
    const tables: [Protocol, Family][] = [];
    for (const protocol of ["tcp", "udp"] as const) {
      const families = targets.filter((t) => t.protocol === protocol).map((t) => t.family);
      if (families.includes(4)) tables.push([protocol, 4]);
      if (families.length > 0) tables.push([protocol, 6]);
    }
    return tables;
  }

  /** The text of one table; `undefined` for a missing IPv6 table (IPv6 disabled in the kernel). */
  async #readTable(protocol: Protocol, family: Family): Promise<string | undefined> {
    const path = `${this.#root}/net/${fileName(protocol, family)}`;
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      if (family === 6 && error instanceof Deno.errors.NotFound) return undefined;
      throw new PadError(`Cannot read "${path}": ${errorKind(error)}`, { cause: error });
    }
  }

  /** Maps socket inodes to the pids whose fds refer to them, scanning `/proc/<pid>/fd`. */
  async #findOwners(
    inodes: ReadonlySet<number>,
    errors: ErrorTally,
    clock: YieldClock,
    signal: AbortSignal | undefined,
  ): Promise<Map<number, number[]>> {
    const owners = new Map<number, number[]>();
    if (inodes.size === 0) return owners;
    const pids: number[] = [];
    for (const entry of Deno.readDirSync(this.#root)) {
      if (/^\d+$/.test(entry.name)) pids.push(Number(entry.name));
    }
    pids.sort((a, b) => a - b);
    let links = 0;
    for (const pid of pids) {
      const dir = `${this.#root}/${pid}/fd`;
      let fds: Deno.DirEntry[];
      try {
        fds = [...Deno.readDirSync(dir)];
      } catch (error) {
        // Gone since the listing, or another user's process: no owner, not an error.
        if (!isVanishedOrForbidden(error)) errors.add(errorKind(error), dir, error);
        continue;
      }
      for (const fd of fds) {
        let target: string;
        try {
          target = Deno.readLinkSync(`${dir}/${fd.name}`);
        } catch (error) {
          if (!isVanishedOrForbidden(error)) {
            errors.add(errorKind(error), `${dir}/${fd.name}`, error);
          }
          continue;
        }
        // "socket:[12345]"
        if (target.startsWith("socket:[")) {
          const inode = Number(target.slice(8, -1));
          if (inodes.has(inode)) {
            const list = owners.get(inode);
            if (!list) owners.set(inode, [pid]);
            else if (list.at(-1) !== pid) list.push(pid);
          }
        }
        if (++links % 256 === 0 && clock.due()) await clock.yield(signal);
      }
      if (clock.due()) await clock.yield(signal);
    }
    return owners;
  }

  /** One entry for the sockets of one (port, protocol, family). */
  #merge(
    group: ProcNetSocket[],
    owners: ReadonlyMap<number, number[]>,
    commands: Map<number, string | undefined>,
    errors: ErrorTally,
  ): OccupiedPort {
    const rank = (s: ProcNetSocket) =>
      (isListeningState(s.protocol, s.state) ? 0 : 4) + (isWildcard(s.address) ? 0 : 2) +
      (owners.has(s.inode) ? 0 : 1);
    const best = group.reduce((a, b) => (rank(b) < rank(a) ? b : a));
    const peers = new Set<number>();
    for (const socket of group) {
      if (socket.state !== best.state) continue;
      for (const pid of owners.get(socket.inode) ?? []) peers.add(pid);
    }
    const pid = owners.get(best.inode)?.[0] ?? Math.min(...peers);
    const entry: OccupiedPort = {
      port: best.port,
      protocol: best.protocol,
      family: best.family,
      listening: isListeningState(best.protocol, best.state),
      address: best.address,
      socketState: best.state,
      uid: best.uid,
    };
    if (Number.isFinite(pid)) {
      entry.pid = pid;
      const command = this.#command(pid, commands, errors);
      if (command !== undefined) entry.command = command;
      if (peers.size > 1) entry.pids = [...peers].sort((a, b) => a - b);
    }
    return entry;
  }

  /** `/proc/<pid>/comm`, cached for the sweep; `undefined` when the process has gone. */
  #command(
    pid: number,
    cache: Map<number, string | undefined>,
    errors: ErrorTally,
  ): string | undefined {
    if (cache.has(pid)) return cache.get(pid);
    let command: string | undefined;
    const path = `${this.#root}/${pid}/comm`;
    try {
      command = Deno.readTextFileSync(path).trimEnd();
    } catch (error) {
      if (!isVanishedOrForbidden(error)) errors.add(errorKind(error), path, error);
    }
    cache.set(pid, command);
    return command;
  }
}

/** The `/proc/net` file name of a protocol and family: `tcp`, `tcp6`, `udp`, `udp6`. */
function fileName(protocol: Protocol, family: Family): string {
  return family === 6 ? `${protocol}6` : protocol;
}

function isVanishedOrForbidden(error: unknown): boolean {
  // A missing --allow-read is a configuration error, not a process we may not read.
  if (error instanceof Deno.errors.NotCapable) throw error;
  return error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied;
}

function isWildcard(address: string): boolean {
  return address === "0.0.0.0" || address === "::";
}

/** Formats a /proc/net hex address (8 digits IPv4, 32 digits IPv6) in its usual text form. */
function formatAddress(hex: string): string {
  const bytes = new Uint8Array(hex.length / 2);
  for (let word = 0; word < hex.length / 8; word++) {
    const value = parseInt(hex.slice(word * 8, word * 8 + 8), 16);
    for (let i = 0; i < 4; i++) {
      const shift = LITTLE_ENDIAN ? 8 * i : 24 - 8 * i;
      bytes[word * 4 + i] = (value >>> shift) & 0xff;
    }
  }
  return bytes.length === 4 ? formatIpv4(bytes, 0) : formatIpv6(bytes, 0);
}
