/**
 * The replay scenarios of `deno task eval`: real captures from other projects (`../shared/pcaps`)
 * stitched with Wireshark's `editcap` and `mergecap` into hours of benign traffic of one host, an
 * attack capture appended after that history ("alone") or merged into it ("spliced"), each
 * scenario imported with `pad import` into its own database and labelled with the attack's span.
 * One more scenario is benign: a phone joins the host's network for good, the incidents it opens
 * are accepted as a person would, and the rest of the history tells whether any more open.
 *
 * @module
 */
import { mulberry32 } from "../src/random.ts";
import { EPHEMERAL_FIRST, EPHEMERAL_LAST } from "../src/round.ts";
import type { Episode, LabelledDatabase } from "./labels.ts";

/** Runs `pad ARGS`; resolves to its stdout, rejects with one line naming what failed. */
export type PadRunner = (args: string[]) => Promise<string>;

/** Options of {@linkcode runReplayScenarios}. */
export interface ReplayOptions {
  /** Working directory: captures, merged files and one database per scenario are made here. */
  dir: string;
  /** Folder holding the shared captures (B02–B06, A03, A07). */
  pcaps: string;
  /** Rounds of benign traffic per database (detect's warm-up and calibration take 120). */
  benignRounds: number;
  /** Round length in seconds (`pad import --round-length`). */
  roundSeconds: number;
  /** Seeds the arrangement of the benign captures and where the attack lands. */
  seed: number;
  /** Runs `pad import`. */
  pad: PadRunner;
  /** Progress lines. */
  log?: (line: string) => void;
}

/**
 * "alone": the attack has its rounds to itself, after the history; "spliced": inside it, after
 * detect's warm-up; "cold": inside it ten minutes after the first round, long before any model.
 */
export type Setting = "alone" | "spliced" | "cold";

/** The attack of the cold-start scenario. */
const COLD_ATTACK = "A03-in";

/** When the cold-start scenario's attack begins after the history's first packet. */
const COLD_START_SECONDS = 600;

/** A capture and the addresses of the monitored host in it (`pad import --local`). */
interface CaptureSpec {
  file: string;
  host: string[];
}

/** An attack capture and the side of it that plays the monitored host. */
export interface AttackSpec extends CaptureSpec {
  /** Short name, for file names and `--attacks`. */
  key: string;
  /** The anomaly type: a row of the results table. */
  type: string;
}

/**
 * The benign captures, cycled in random order. Each comes from a different host, so the
 * monitored host owns one address of each (multi-homed): passing them as `--local` makes the
 * right side local everywhere, where the private-range default would make B03's router and
 * A07's DNS server local too and B02's anonymized public client remote.
 */
const BENIGN: CaptureSpec[] = [
  // Firefox on Windows 11, one QUIC flow from 1.2.3.4:49369 to 4.3.2.1:443 (anonymized).
  { file: "B02_zeek_quic_win11_firefox_google.pcap", host: ["1.2.3.4"] },
  // An Android phone (192.168.2.16); 192.168.2.1 is its router, .17 another device on the Wi-Fi.
  { file: "B03_ndpi_android.pcap", host: ["192.168.2.16"] },
  // A KakaoTalk call from 10.24.82.188.
  { file: "B04_ndpi_KakaoTalk_talk_sll.pcap", host: ["10.24.82.188"] },
  // A QUIC handshake on ::1 (loopback is always local).
  { file: "B05_tcpdump_quic_handshake_null.pcap", host: [] },
];

/** Six packets over 26 minutes (pings to itself): a lane of its own, end to end. */
const BACKGROUND: CaptureSpec = {
  file: "B06_zeek_linux_dlt_sll2.pcap",
  host: ["192.0.2.1", "fe80::8c36:6ff:fe44:acaf"],
};

/** The attacks; A03 twice, once from each side of the scan. */
export const ATTACKS: AttackSpec[] = [
  {
    key: "A03-in",
    type: "SYN scan of 1,000 ports, inbound (A03)",
    file: "A03_ndpi_ppa_synscan_scanme.pcap",
    host: ["64.13.134.52"], // the host is the scanned target
  },
  {
    key: "A03-out",
    type: "SYN scan of 1,000 ports, outbound (A03)",
    file: "A03_ndpi_ppa_synscan_scanme.pcap",
    host: ["172.16.0.8"], // the host is the scanner
  },
  {
    key: "A07",
    type: "iodine DNS tunnel (A07)",
    file: "A07_ndpi_dns_tunnel_iodine.pcap",
    host: ["10.0.2.30"], // the tunnel's client; 10.0.2.20 is the DNS server it talks to
  },
];

/** Busy lanes of benign captures laid end to end, then merged by time (a host doing two things). */
const LANES = 2;
/** Most seconds between two captures of a lane. */
const MAX_GAP_SECONDS = 3;
/** Benign rounds after an attack that comes alone. */
const TAIL_ROUNDS = 30;
/**
 * Spliced attacks and the phone's join land after this round, with some room: past detect's
 * warm-up (120 rounds; pad 0.2 judged only from here on, after 60 rounds and 60 scores). The
 * cold scenario is the one that comes earlier.
 */
const FIRST_JUDGED_ROUND = 120;
/** The benign history starts here (a Monday 08:00 UTC), whatever the captures' own dates. */
const BASE_SECONDS = Date.UTC(2026, 0, 5, 8) / 1000;
/** Bytes of link-layer header per pcap link type, chopped to leave raw IP. */
const LINK_HEADER: Record<number, number> = {
  0: 4,
  1: 14,
  101: 0,
  113: 16,
  228: 0,
  229: 0,
  276: 20,
};

/** A capture made raw IP, with its span as capinfos reads it. */
interface Normalized {
  spec: CaptureSpec;
  path: string;
  /** First and last packet time, seconds since the epoch. */
  first: number;
  last: number;
  packets: number;
}

/**
 * One capture placed on the timeline: its first packet at `start` (seconds since the epoch), its
 * ephemeral ports moved by `portOffset` (see {@linkcode varyEphemeralPorts}).
 */
interface Piece {
  capture: Normalized;
  start: number;
  portOffset: number;
}

/** The tools the replay needs, checked before anything is built. */
export const REPLAY_TOOLS = ["editcap", "mergecap", "capinfos"];

/** Missing tools or captures, as one line each; empty when the replay can run. */
export async function replayPrerequisites(pcaps: string): Promise<string[]> {
  const problems: string[] = [];
  for (const tool of REPLAY_TOOLS) {
    try {
      await new Deno.Command(tool, { args: ["-v"], stdout: "null", stderr: "null" }).output();
    } catch {
      problems.push(`${tool} not found: apt-get install wireshark-common (or tshark)`);
    }
  }
  const files = new Set([...BENIGN, BACKGROUND, ...ATTACKS].map((c) => c.file));
  const missing = [...files].filter((file) => {
    try {
      return !Deno.statSync(`${pcaps}/${file}`).isFile;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    problems.push(
      `${missing.length} of the ${files.size} shared captures are not in ${pcaps} ` +
        `(${missing.join(", ")}): pass --pcaps DIR`,
    );
  }
  return problems;
}

/**
 * Builds, imports and labels one database per attack and setting. Resolves when every database
 * is imported (not yet detected).
 */
export async function runReplayScenarios(options: ReplayOptions): Promise<LabelledDatabase[]> {
  const log = options.log ?? (() => {});
  if (options.benignRounds < FIRST_JUDGED_ROUND + 30) {
    throw new Error(
      `Replay needs at least ${FIRST_JUDGED_ROUND + 30} benign rounds (detect judges nothing ` +
        `in the first ${FIRST_JUDGED_ROUND}); got ${options.benignRounds}`,
    );
  }
  const work = `${options.dir}/replay`;
  Deno.mkdirSync(work, { recursive: true });
  const normalized = new Map<string, Normalized>();
  for (const spec of [...BENIGN, BACKGROUND, ...ATTACKS]) {
    if (!normalized.has(spec.file)) {
      normalized.set(spec.file, await normalize(spec, options.pcaps, work));
    }
  }
  const result: LabelledDatabase[] = [];
  let index = 0;
  for (const setting of ["alone", "spliced", "cold"] as const) {
    for (const attack of ATTACKS.filter((a) => setting !== "cold" || a.key === COLD_ATTACK)) {
      const started = performance.now();
      const labelled = await buildScenario(attack, setting, index++, normalized, work, options);
      log(`${labelled.name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
      result.push(labelled);
    }
  }
  const started = performance.now();
  const joined = await buildJoinScenario(index, normalized, work, options);
  log(`${joined.name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  result.push(joined);
  return result;
}

/** The device that joins for good: B03's Android phone. */
const JOINING = BENIGN[1]!;
/** The anomaly type of the join scenario: a row of the results table. */
export const JOIN_TYPE = "a phone joins for good (B03), its incidents accepted";
/** Rounds between the join and the detect run whose incidents are accepted: one detect step. */
const ROUNDS_BEFORE_ACCEPT = 60;
/** What must stay quiet after the accept: 35 minutes of the replay's time. */
const QUIET_AFTER_ACCEPT_SECONDS = 35 * 60;

/**
 * A benign device joins for good: the history is made without the phone's captures until it
 * joins (after detect's warm-up and calibration), and with a lane of them from then on. The
 * history up to {@linkcode ROUNDS_BEFORE_ACCEPT} rounds after the join is imported and
 * detected, every incident opened since the join is accepted with `pad accept`, and the rest
 * (at least 35 minutes) is imported; the eval's own detect run judges it.
 */
async function buildJoinScenario(
  index: number,
  captures: Map<string, Normalized>,
  work: string,
  options: ReplayOptions,
): Promise<LabelledDatabase> {
  const random = mulberry32(options.seed * 1_000 + index);
  const slot = options.roundSeconds;
  const join = BASE_SECONDS + (FIRST_JUDGED_ROUND + 30) * slot;
  const accept = join + ROUNDS_BEFORE_ACCEPT * slot;
  const end = Math.max(
    BASE_SECONDS + options.benignRounds * slot,
    accept + QUIET_AFTER_ACCEPT_SECONDS + 10 * slot,
  );
  const others = BENIGN.filter((b) => b !== JOINING).map((b) => captures.get(b.file)!);
  const lanes: Piece[][] = [];
  for (let lane = 0; lane < LANES; lane++) {
    lanes.push(planLane(others, BASE_SECONDS + random() * 30, end, null, random));
  }
  lanes.push(
    planLane([captures.get(BACKGROUND.file)!], BASE_SECONDS + random() * 600, end, null, random),
  );
  const phone = planLane([captures.get(JOINING.file)!], join, end, null, random);
  lanes.push(phone);

  const name = "joined";
  const merged = `${work}/${name}.pcap`;
  const dir = `${work}/${name}`;
  const laneFiles = await writeLanes(lanes, dir);
  await tool("mergecap", ["-F", "pcap", "-w", merged, ...laneFiles]);
  const firstPhonePacket = (await capinfos(laneFiles.at(-1)!)).first;
  const before = `${dir}/before.pcap`;
  const after = `${dir}/after.pcap`;
  await tool("editcap", ["-B", String(accept), merged, before]);
  await tool("editcap", ["-A", String(accept), merged, after]);

  const db = `${options.dir}/${name}.db`;
  for (const suffix of ["", "-wal", "-shm"]) removeIfPresent(db + suffix);
  const local = [...new Set([...BENIGN, BACKGROUND].flatMap((c) => c.host))];
  const importPart = (file: string) =>
    options.pad([
      "--db",
      db,
      "import",
      file,
      "--round-length",
      `${slot}s`,
      ...local.flatMap((l) => ["--local", l]),
    ]);
  options.log?.(`${name}, before the accept: ${(await importPart(before)).trim()}`);
  const detected = await options.pad(["--db", db, "--quiet", "detect", "--format", "json"]);
  const opened = detected.trim().split("\n").map((l) => JSON.parse(l)).filter((l) =>
    l.type === "incident" && l.event === "opened" && Date.parse(l.end_time) > join * 1000
  );
  for (const incident of opened) await options.pad(["--db", db, "accept", String(incident.id)]);
  options.log?.(
    `${name}: ${opened.length} incidents since the join, accepted: ${
      opened.map((i) => `"${i.summary}"`).join("; ")
    }`,
  );
  options.log?.(`${name}, after the accept: ${(await importPart(after)).trim()}`);
  Deno.removeSync(dir, { recursive: true });
  Deno.removeSync(merged);

  const episode: Episode = {
    type: JOIN_TYPE,
    benign: true,
    start: Math.floor(firstPhonePacket * 1000),
    end: end * 1000,
    settled: end * 1000,
    acceptedAt: accept * 1000,
    command:
      `${JOINING.file} laid end to end from ${
        new Date(join * 1000).toISOString()
      } to the end of a history of ${others.map((o) => o.spec.file).join(", ")}; imported up to ` +
      `${ROUNDS_BEFORE_ACCEPT} rounds after the join, detected, its ${opened.length} ` +
      `incidents accepted with pad accept, then the rest imported; pad import --round-length ` +
      `${slot}s --local ${local.join(",")}`,
  };
  return { name: `replay joined: ${JOIN_TYPE}`, db, episodes: [episode] };
}

/** Lay out, merge, import and label one scenario. */
async function buildScenario(
  attack: AttackSpec,
  setting: Setting,
  index: number,
  captures: Map<string, Normalized>,
  work: string,
  options: ReplayOptions,
): Promise<LabelledDatabase> {
  const random = mulberry32(options.seed * 1_000 + index);
  const name = `${setting}-${attack.key}`;
  const attackCapture = captures.get(attack.file)!;
  const plan = placeAttack(setting, attackCapture, options, random);
  const lanes: Piece[][] = [];
  for (let lane = 0; lane < LANES; lane++) {
    const pool = BENIGN.map((b) => captures.get(b.file)!);
    lanes.push(planLane(pool, BASE_SECONDS + random() * 30, plan.end, plan.hole, random));
  }
  const background = [captures.get(BACKGROUND.file)!];
  lanes.push(planLane(background, BASE_SECONDS + random() * 600, plan.end, plan.hole, random));

  const merged = `${work}/${name}.pcap`;
  const shift = plan.attackStart - attackCapture.first;
  const span = await writeScenario(lanes, attackCapture, shift, merged);

  const db = `${options.dir}/${name}.db`;
  for (const suffix of ["", "-wal", "-shm"]) removeIfPresent(db + suffix); // a previous run's
  const local = [...new Set([...BENIGN, BACKGROUND].flatMap((c) => c.host).concat(attack.host))];
  const summary = await options.pad([
    "--db",
    db,
    "import",
    merged,
    "--round-length",
    `${options.roundSeconds}s`,
    ...local.flatMap((l) => ["--local", l]),
  ]);
  Deno.removeSync(merged);
  options.log?.(`${name}: ${summary.trim()}`);

  const episode: Episode = {
    type: attack.type,
    start: Math.floor(span.first * 1000),
    // The last packet's own millisecond belongs to the attack: the end is exclusive.
    end: Math.floor(span.last * 1000) + 1,
    settled: Math.floor(span.last * 1000) + 1,
    command: `${attack.file} (${span.packets} packets) shifted with editcap -t ${
      shift.toFixed(6)
    }, ${
      setting === "alone"
        ? "appended after the benign history, alone in its rounds"
        : setting === "cold"
        ? "merged by time into the benign history 10 minutes after its start"
        : "merged by time into the benign history"
    }; pad import --round-length ${options.roundSeconds}s --local ${local.join(",")}`,
  };
  return { name: `replay ${setting}: ${attack.type}`, db, episodes: [episode] };
}

/**
 * Where the attack lands (seconds since the epoch), the slots kept free of benign traffic, and
 * where the benign lanes end: alone, after the history, in slots of its own and followed by
 * {@linkcode TAIL_ROUNDS} more benign rounds; spliced, anywhere after detect's warm-up.
 */
function placeAttack(
  setting: Setting,
  attack: Normalized,
  options: ReplayOptions,
  random: () => number,
): { attackStart: number; hole: [number, number] | null; end: number } {
  const slot = options.roundSeconds;
  const history = BASE_SECONDS + options.benignRounds * slot;
  const duration = attack.last - attack.first;
  if (setting === "alone") {
    const attackStart = history + slot + random() * slot;
    const hole: [number, number] = [
      Math.floor(attackStart / slot) * slot,
      Math.ceil((attackStart + duration) / slot) * slot,
    ];
    return { attackStart, hole, end: hole[1] + TAIL_ROUNDS * slot };
  }
  if (setting === "cold") {
    const attackStart = BASE_SECONDS + COLD_START_SECONDS + random() * slot;
    return { attackStart, hole: null, end: history };
  }
  const earliest = FIRST_JUDGED_ROUND + 10;
  const latest = options.benignRounds - Math.ceil(duration / slot) - 10;
  const attackStart = BASE_SECONDS + slot * (earliest + random() * Math.max(0, latest - earliest));
  return { attackStart, hole: null, end: history };
}

/**
 * Writes `merged`: each lane's pieces shifted into place and concatenated (`mergecap -a`), then
 * the lanes and the shifted attack merged by time (`mergecap`). Returns the attack's span as
 * capinfos reads it in the shifted file: that is the label.
 */
async function writeScenario(
  lanes: Piece[][],
  attack: Normalized,
  shift: number,
  merged: string,
): Promise<{ packets: number; first: number; last: number }> {
  const dir = merged.replace(/\.pcap$/, "");
  const laneFiles = await writeLanes(lanes, dir);
  const attackFile = `${dir}/attack.pcap`;
  await tool("editcap", ["-t", shift.toFixed(6), attack.path, attackFile]);
  await tool("mergecap", ["-F", "pcap", "-w", merged, ...laneFiles, attackFile]);
  const span = await capinfos(attackFile);
  Deno.removeSync(dir, { recursive: true });
  return span;
}

/** Each lane's pieces shifted into place and concatenated (`mergecap -a`) into `dir`/laneN.pcap. */
async function writeLanes(lanes: Piece[][], dir: string): Promise<string[]> {
  Deno.mkdirSync(dir, { recursive: true });
  const laneFiles: string[] = [];
  for (const [i, pieces] of lanes.entries()) {
    const files = await shiftAll(pieces, `${dir}/lane${i}`);
    const laneFile = `${dir}/lane${i}.pcap`;
    await tool("mergecap", ["-a", "-F", "pcap", "-w", laneFile, ...files]);
    for (const f of files) Deno.removeSync(f);
    laneFiles.push(laneFile);
  }
  return laneFiles;
}

/**
 * Captures drawn at random laid end to end from `from` to `to`, a random gap of up to
 * {@linkcode MAX_GAP_SECONDS} between two, none overlapping `hole`.
 */
function planLane(
  pool: Normalized[],
  from: number,
  to: number,
  hole: [number, number] | null,
  random: () => number,
): Piece[] {
  const pieces: Piece[] = [];
  let t = from;
  while (t < to) {
    const capture = pool[Math.floor(random() * pool.length)]!;
    const length = capture.last - capture.first;
    if (hole && t < hole[1] && t + length >= hole[0]) {
      t = hole[1] + random() * MAX_GAP_SECONDS;
      continue;
    }
    pieces.push({ capture, start: t, portOffset: Math.floor(random() * EPHEMERAL_SIZE) });
    t += length + random() * MAX_GAP_SECONDS;
  }
  return pieces;
}

/**
 * Each piece with its own ephemeral ports, shifted to its place (`editcap -t`), a few at a time;
 * the files in order.
 */
async function shiftAll(pieces: Piece[], prefix: string): Promise<string[]> {
  const files = pieces.map((_, i) => `${prefix}_${String(i).padStart(5, "0")}.pcap`);
  const bytes = new Map<string, Uint8Array>();
  const parallel = 8;
  for (let i = 0; i < pieces.length; i += parallel) {
    await Promise.all(
      pieces.slice(i, i + parallel).map(async (p, j) => {
        let source = bytes.get(p.capture.path);
        if (!source) bytes.set(p.capture.path, source = Deno.readFileSync(p.capture.path));
        const varied = `${files[i + j]!}.ports`;
        Deno.writeFileSync(varied, varyEphemeralPorts(source, p.portOffset));
        await tool("editcap", [
          "-t",
          (p.start - p.capture.first).toFixed(6),
          varied,
          files[i + j]!,
        ]);
        Deno.removeSync(varied);
      }),
    );
  }
  return files;
}

/** Linux's ephemeral port range (`ip_local_port_range`): where clients' ports come from. */
const EPHEMERAL_LOW = EPHEMERAL_FIRST;
const EPHEMERAL_SIZE = EPHEMERAL_LAST + 1 - EPHEMERAL_LOW;

/**
 * A copy of a raw-IP pcap file whose TCP and UDP ports in the ephemeral range are rotated by
 * `offset` within it (checksums adjusted, RFC 1624). A capture replayed twice unchanged would
 * show the same client ports again, which a real host never does: its new connections take new
 * ports. Without this a "new port" rule would never fire on the replayed history; editcap cannot
 * rewrite ports, hence this pass. Service ports (below the range) stay.
 */
export function varyEphemeralPorts(file: Uint8Array, offset: number): Uint8Array {
  const out = file.slice();
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const magic = view.getUint32(0, true);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  for (let at = 24; at + 16 <= out.length;) {
    const captured = view.getUint32(at + 8, little);
    const ip = at + 16;
    const end = Math.min(ip + captured, out.length);
    if (offset % EPHEMERAL_SIZE !== 0) rotatePorts(view, ip, end, offset);
    at = ip + captured;
  }
  return out;
}

function rotatePorts(view: DataView, ip: number, end: number, offset: number): void {
  if (ip + 20 > end) return;
  const version = view.getUint8(ip) >> 4;
  let transport: number;
  let l4: number;
  if (version === 4) {
    if ((view.getUint16(ip + 6) & 0x1fff) !== 0) return; // a later fragment: no ports
    transport = view.getUint8(ip + 9);
    l4 = ip + (view.getUint8(ip) & 0x0f) * 4;
  } else if (version === 6 && ip + 40 <= end) {
    transport = view.getUint8(ip + 6); // extension headers are left alone
    l4 = ip + 40;
  } else {
    return;
  }
  if ((transport !== 6 && transport !== 17) || l4 + 4 > end) return;
  const sumAt = l4 + (transport === 6 ? 16 : 6);
  // UDP over IPv4 may carry no checksum (0); a truncated packet may not reach it.
  const hasSum = sumAt + 2 <= end && !(transport === 17 && view.getUint16(sumAt) === 0);
  for (const at of [l4, l4 + 2]) {
    const old = view.getUint16(at);
    if (old < EPHEMERAL_LOW || old >= EPHEMERAL_LOW + EPHEMERAL_SIZE) continue;
    const port = EPHEMERAL_LOW + (old - EPHEMERAL_LOW + offset) % EPHEMERAL_SIZE;
    view.setUint16(at, port);
    if (hasSum) {
      // HC' = ~(~HC + ~m + m'), in ones' complement arithmetic.
      let sum = (~view.getUint16(sumAt) & 0xffff) + (~old & 0xffff) + port;
      sum = (sum & 0xffff) + (sum >>> 16);
      sum = (sum & 0xffff) + (sum >>> 16);
      const next = ~sum & 0xffff;
      view.setUint16(sumAt, transport === 17 && next === 0 ? 0xffff : next);
    }
  }
}

/**
 * The capture with its link-layer header chopped off (`editcap -C N -T rawip`): libpcap reads
 * a file with one link type only, and the captures have four (Ethernet, Linux SLL and SLL2, BSD
 * null), so every piece is made raw IP before they are merged.
 */
async function normalize(spec: CaptureSpec, pcaps: string, work: string): Promise<Normalized> {
  const source = `${pcaps}/${spec.file}`;
  const linkType = pcapLinkType(source);
  const chop = LINK_HEADER[linkType];
  if (chop === undefined) {
    throw new Error(`${source}: link type ${linkType} is not one the replay can make raw IP`);
  }
  const path = `${work}/${spec.file.replace(/\.pcap$/, "")}.raw.pcap`;
  await tool("editcap", [
    "-F",
    "pcap",
    ...(chop ? ["-C", String(chop)] : []),
    "-T",
    "rawip",
    source,
    path,
  ]);
  return { spec, path, ...await capinfos(path) };
}

/** The link type in a classic pcap file's header (either byte order). */
function pcapLinkType(path: string): number {
  const header = new Uint8Array(24);
  using file = Deno.openSync(path);
  if (file.readSync(header) !== 24) throw new Error(`${path}: too short for a pcap header`);
  const view = new DataView(header.buffer);
  const magic = view.getUint32(0, true);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (
    !little && view.getUint32(0, false) !== 0xa1b2c3d4 && view.getUint32(0, false) !== 0xa1b23c4d
  ) {
    throw new Error(`${path}: not a classic pcap file (pcapng is not handled by the replay)`);
  }
  return view.getUint32(20, little) & 0xffff;
}

/** Packets and first/last packet time (seconds since the epoch) as capinfos reports them. */
async function capinfos(path: string): Promise<{ packets: number; first: number; last: number }> {
  // -T -r: one tab-separated line, no header; -S: times as seconds since the epoch.
  const out = await tool("capinfos", ["-T", "-r", "-S", "-c", "-a", "-e", path]);
  const [, packets, first, last] = out.trim().split("\t");
  const result = { packets: Number(packets), first: Number(first), last: Number(last) };
  if (!Number.isFinite(result.first) || !Number.isFinite(result.last) || !(result.packets > 0)) {
    throw new Error(`capinfos could not read the span of ${path}: "${out.trim()}"`);
  }
  return result;
}

function removeIfPresent(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Runs a Wireshark tool; its stderr becomes the error when it fails. */
async function tool(program: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(program, { args, stdin: "null" }).output();
  const decoder = new TextDecoder();
  if (!output.success) {
    const stderr = decoder.decode(output.stderr).trim().split("\n").pop();
    throw new Error(`${program} ${args.join(" ")} failed (exit ${output.code}): ${stderr}`);
  }
  return decoder.decode(output.stdout);
}
