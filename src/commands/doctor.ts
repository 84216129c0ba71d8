/**
 * `pad doctor`: what collect needs (libpcap, capture permission, the database path, low ports,
 * procfs), each found ok or not, with what to do. Its flags are defined in src/cli/doctor.ts,
 * which loads this module when it runs.
 *
 * @module
 */
import { dirname } from "../path.ts";
import { defaultProbe } from "../probe/mod.ts";
import {
  findAllDevices,
  libpcapPath,
  libVersion,
  PacketRing,
  Pcap,
  PcapError,
  PcapStatus,
} from "../../ffi/mod.ts";
import { errorMessage } from "../errors.ts";
import type { Output } from "../output.ts";
import { alignedTable } from "../table_format.ts";
import { checkIntact, openDatabaseReadOnly } from "../store/database.ts";
import { databaseFailure } from "../store/failure.ts";

/** Options of `pad doctor`. */
export interface DoctorOptions {
  db: string;
  /** The interface collect would capture on; default: as collect chooses. */
  interface?: string;
}

/** One finding: what was checked, how it stands, and what to do when it is not ok. */
export interface Finding {
  check: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  fix?: string;
}

const SETCAP = "sudo setcap cap_net_raw,cap_net_admin=eip $(command -v pad)";

/**
 * Checks what collect needs: libpcap, capture permission, the interfaces, the database path,
 * low ports, and the procfs probe. Prints one line per finding; "fail" means collect cannot work.
 */
export function runDoctor(options: DoctorOptions, out: Output): Finding[] {
  const findings: Finding[] = [];
  const pcapLoaded = checkLibpcap(findings);
  if (pcapLoaded) checkCapture(findings, options.interface);
  checkDatabase(findings, options.db);
  checkLowPorts(findings);
  checkProcfs(findings);
  checkUdpProbe(findings);
  const rows = findings.map((
    f,
  ) => [f.status, f.check, f.fix ? `${f.detail}; fix: ${f.fix}` : f.detail]);
  out.write(alignedTable(["status", "check", "finding"], rows));
  return findings;
}

function checkLibpcap(findings: Finding[]): boolean {
  try {
    const version = libVersion(); // loads the library
    findings.push({ check: "libpcap", status: "ok", detail: `${version} (${libpcapPath()})` });
    return true;
  } catch (error) {
    findings.push({
      check: "libpcap",
      status: "warn",
      detail: `${errorMessage(error)}; collect sweeps ports but captures nothing`,
      fix: "apt-get install libpcap0.8 (or set PAD_LIBPCAP to the library's path)",
    });
    return false;
  }
}

function checkCapture(findings: Finding[], wanted: string | undefined): void {
  let devices;
  try {
    devices = findAllDevices();
  } catch (error) {
    findings.push({ check: "interfaces", status: "warn", detail: errorMessage(error) });
    return;
  }
  const describe = (d: (typeof devices)[number]) =>
    `${d.name}${d.flags.up ? "" : " (down)"}${d.flags.loopback ? " (loopback)" : ""}` +
    (d.addresses.length ? ` ${d.addresses.map((a) => a.address).join(" ")}` : "");
  findings.push({ check: "interfaces", status: "ok", detail: devices.map(describe).join(", ") });

  const chosen = wanted ??
    devices.find((d) => d.flags.up && !d.flags.loopback && d.addresses.length > 0)?.name;
  if (!chosen) {
    findings.push({
      check: "capture",
      status: "warn",
      detail: "no interface is up besides loopback",
      fix: "pass --interface lo to capture loopback traffic",
    });
    return;
  }
  try {
    using pcap = Pcap.openLive({ device: chosen });
    const ring = PacketRing.of(pcap);
    ring?.close();
    findings.push({
      check: "capture",
      status: "ok",
      detail: `can capture on ${chosen}, ` +
        (ring
          ? "reading the kernel's capture ring in place"
          : "through libpcap a packet at a time (this host's capture ring cannot be read in place: " +
            "capture costs about four times the CPU)"),
    });
  } catch (error) {
    const denied = error instanceof PcapError &&
      (error.code === PcapStatus.PERM_DENIED || /permission|not permitted/i.test(error.message));
    findings.push({
      check: "capture",
      status: "warn",
      detail: `cannot capture on ${chosen}: ${errorMessage(error)}`,
      fix: denied ? `run pad as root, or ${SETCAP}` : "choose another --interface",
    });
  }
}

function checkDatabase(findings: Finding[], path: string): void {
  // The file if it exists, else the nearest directory that does: can pad write there?
  let target = path;
  for (;;) {
    try {
      Deno.statSync(target);
      break;
    } catch {
      if (dirname(target) === target) break;
      target = dirname(target);
    }
  }
  try {
    if (target === path) {
      Deno.openSync(path, { read: true, write: true }).close();
    } else {
      const probe = Deno.makeTempFileSync({ dir: target, prefix: ".pad-doctor-" });
      Deno.removeSync(probe);
    }
    findings.push(
      target === path ? intact(path) : {
        check: "database",
        status: "ok",
        detail: `${path} can be created`,
      },
    );
  } catch (error) {
    findings.push({
      check: "database",
      status: "fail",
      detail: `cannot write ${target}: ${errorMessage(error)}`,
      fix: "pass --db with a path this user can write, or set PAD_DB",
    });
  }
}

/** The existing database: writable, and whole (SQLite's quick_check). */
function intact(path: string): Finding {
  try {
    using db = openDatabaseReadOnly(path);
    checkIntact(db, path);
    return { check: "database", status: "ok", detail: `${path} is writable and intact` };
  } catch (error) {
    const why = errorMessage(databaseFailure(error, path));
    return { check: "database", status: "fail", detail: why };
  }
}

function checkLowPorts(findings: Finding[]): void {
  const start = readNumber("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  // Only the listen probe binds ports; procfs reads them whoever runs it.
  if (defaultProbe() === "procfs") return;
  if (Deno.uid() === 0 || start === 0) {
    findings.push({
      check: "low ports",
      status: "ok",
      detail: "the listen probe can test every port",
    });
    return;
  }
  findings.push({
    check: "low ports",
    status: "warn",
    detail: `ports below ${
      start ?? 1024
    } cannot be bound by this user: the listen probe records them as unknown`,
    fix: "run collect as root",
  });
}

function checkProcfs(findings: Finding[]): void {
  try {
    for (const table of ["tcp", "tcp6", "udp", "udp6"]) Deno.readTextFileSync(`/proc/net/${table}`);
    findings.push({
      check: "procfs probe",
      status: "ok",
      detail: "/proc/net is readable: collect's procfs probe (the default here) sees every " +
        "port (also below 1024) and its owner, at a fraction of the listen probe's CPU",
    });
  } catch (error) {
    findings.push({
      check: "procfs probe",
      status: "warn",
      detail: `cannot read /proc/net: ${errorMessage(error)}`,
      fix: "collect uses the listen probe instead (the default where /proc/net is unreadable)",
    });
  }
}

function checkUdpProbe(findings: Finding[]): void {
  if (typeof Deno.listenDatagram === "function") return;
  findings.push({
    check: "udp probe",
    status: "fail",
    detail: "Deno.listenDatagram is missing: pad was started without --unstable-net",
    fix: "run pad through deno task pad or the compiled binary, which carry the flag",
  });
}

function readNumber(path: string): number | undefined {
  try {
    return Number(Deno.readTextFileSync(path).trim());
  } catch {
    return undefined;
  }
}
