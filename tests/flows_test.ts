/**
 * Flow records: one row per connection and round, from an imported capture and from a live
 * round on lo; no packet rows unless --packets asks for them. Real capture files,
 * real sockets, real libpcap, real SQLite.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runCollect } from "../src/commands/collect.ts";
import { BufferOutput } from "../src/output.ts";
import { dnsAResponse, dnsQuery, ethernet, ipv4, tcp, udp } from "../fixtures/frames.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";
import { writePcap } from "../fixtures/pcap_writer.ts";
import { freePortBlock } from "./support/listeners.ts";
import { waitFor } from "./support/wait.ts";

const isRoot = Deno.uid() === 0;
const [SYN, FIN, RST, PSH_ACK, SYN_ACK, ACK] = [0x02, 0x01, 0x04, 0x18, 0x12, 0x10];

function query(db: string, sql: string, ...params: (string | number)[]) {
  using conn = new DatabaseSync(db, { readOnly: true });
  return conn.prepare(sql).all(...params).map((r) => ({ ...r }));
}

/** A frame of this host 192.168.1.10 and a remote end. */
function frame(src: string, dst: string, transport: Uint8Array, protocol = 6): Uint8Array {
  return ethernet({ ethertype: 0x0800, payload: ipv4({ src, dst, protocol, payload: transport }) });
}

const HOST = "192.168.1.10";
const START = Date.UTC(2026, 2, 2, 10, 0, 0);

/**
 * A minute of one host's traffic: a web fetch it makes (handshake, request, answer, FIN), a
 * connection it accepts and resets, a SYN nobody answers, a DNS lookup with its answer, and the
 * tail of a connection the capture joined mid-way (its first packet is the server's).
 */
function hostCapture(path: string): void {
  const t = (a: number, b: number, flags: number, payload?: Uint8Array) =>
    tcp({ srcPort: a, dstPort: b, flags, payload });
  const web = "203.0.113.80";
  const client = "198.51.100.9";
  const frames: [number, Uint8Array][] = [
    [0, frame(HOST, web, t(50_001, 443, SYN))],
    [10, frame(web, HOST, t(443, 50_001, SYN_ACK))],
    [20, frame(HOST, web, t(50_001, 443, PSH_ACK, new Uint8Array(100)))],
    [30, frame(web, HOST, t(443, 50_001, PSH_ACK, new Uint8Array(1000)))],
    [40, frame(HOST, web, t(50_001, 443, FIN | ACK))],
    [1_000, frame(client, HOST, t(41_000, 22, SYN))],
    [1_010, frame(HOST, client, t(22, 41_000, SYN_ACK))],
    [1_020, frame(client, HOST, t(41_000, 22, RST))],
    [2_000, frame(HOST, "192.0.2.1", t(50_002, 8443, SYN))],
    [3_000, frame(HOST, "192.168.1.1", udp(40_000, 53, dnsQuery("example.com")), 17)],
    [
      3_010,
      frame("192.168.1.1", HOST, udp(53, 40_000, dnsAResponse("example.com", "93.184.216.34")), 17),
    ],
    [4_000, frame(web, HOST, t(443, 50_003, PSH_ACK, new Uint8Array(500)))],
    [4_010, frame(HOST, web, t(50_003, 443, ACK))],
  ];
  writePcap(path, 1, frames.map(([ms, data]) => ({ tsMs: START + 5_000 + ms, data })));
}

Deno.test("an imported capture's connections are one flow each: who started it, both ways' packets and bytes, how it ended, DNS names; packet rows only when asked for", async () => {
  using dir = tempDir();
  const file = `${dir.path}/host.pcap`;
  hostCapture(file);
  const db = `${dir.path}/pad.db`;
  const imported = await runPad(["--db", db, "import", file, "--local", HOST]);
  assert.equal(imported.code, 0, imported.stderr);
  const flows = query(
    db,
    "SELECT direction, protocol, local_addr, port_id, remote_addr, remote_port, packets_in, " +
      "packets_out, bytes_in, bytes_out, state, dns_query, dns_answer FROM flows ORDER BY first_seen",
  );
  const tcpFrame = 14 + 20 + 20;
  const expected = [
    [
      "out",
      "tcp",
      HOST,
      50_001,
      "203.0.113.80",
      443,
      2,
      3,
      2 * tcpFrame + 1000,
      3 * tcpFrame + 100,
      "closed",
    ],
    ["in", "tcp", HOST, 22, "198.51.100.9", 41_000, 2, 1, 2 * tcpFrame, tcpFrame, "reset"],
    ["out", "tcp", HOST, 50_002, "192.0.2.1", 8443, 0, 1, 0, tcpFrame, "unanswered"],
  ];
  assert.deepEqual(
    flows.slice(0, 3).map((f) => [
      f.direction,
      f.protocol,
      f.local_addr,
      f.port_id,
      f.remote_addr,
      f.remote_port,
      f.packets_in,
      f.packets_out,
      f.bytes_in,
      f.bytes_out,
      f.state,
    ]),
    expected,
  );
  const dns = flows[3]!;
  assert.deepEqual(
    [dns.direction, dns.protocol, dns.port_id, dns.remote_port, dns.packets_out, dns.packets_in],
    ["out", "udp", 40_000, 53, 1, 1],
  );
  assert.equal(dns.state, null);
  assert.equal(dns.dns_query, "example.com");
  // Joined mid-way with the server's packet first: still this host's connection to tcp/443.
  const joined = flows[4]!;
  assert.deepEqual([joined.direction, joined.port_id, joined.remote_port], ["out", 50_003, 443]);
  assert.equal(flows.length, 5);

  // Without --packets no packet is a row; with it, every packet up to N, DNS first.
  assert.deepEqual(query(db, "SELECT count(*) AS n FROM packets"), [{ n: 0 }]);
  const db2 = `${dir.path}/all.db`;
  await runPad(["--db", db2, "import", file, "--local", HOST, "--packets", "5"]);
  const rows = query(db2, "SELECT qry_name FROM packets");
  assert.equal(rows.length, 5);
  assert.equal(rows.filter((p) => p.qry_name === "example.com").length, 2);
  // The name it had before flows still works.
  const db3 = `${dir.path}/old.db`;
  await runPad(["--db", db3, "import", file, "--local", HOST, "--max-packets", "100"]);
  assert.equal(query(db3, "SELECT count(*) AS n FROM packets")[0]!.n, 13);

  const shown = await runPad(["--db", db, "inspect", "flows", "--format", "json"]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stdout.trim().split("\n").length, 5);
});

Deno.test({
  name:
    "a live round on lo records a TCP connection as one flow with its process, and DNS queries nobody answers as unanswered flows",
  ignore: !isRoot,
  async fn() {
    using dir = tempDir();
    const db = `${dir.path}/pad.db`;
    const port = freePortBlock(1);
    const server = Deno.listen({ hostname: "127.0.0.1", port });
    const running = runCollect({
      db,
      probe: "procfs",
      intervalMs: 200,
      durationMs: 3_000,
      capture: true,
      interface: "lo",
      filter: `(tcp and port ${port}) or (dst host 127.0.0.77 and dst port 53)`,
      payloadBytes: 0,
      maxPackets: 3, // --packets 3: the DNS packets come first
    }, new BufferOutput());
    await waitFor(
      () => query(db, "SELECT id FROM rounds WHERE status = 'open'").length > 0,
      "an open round",
    );
    const accepted = server.accept();
    const client = await Deno.connect({ hostname: "127.0.0.1", port });
    const conn = await accepted;
    await client.write(new Uint8Array(1000));
    await conn.read(new Uint8Array(2000));
    // Held open across a sweep, so the round knows the client socket's process.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const clientPort = (client.localAddr as Deno.NetAddr).port;
    client.close();
    conn.close();
    server.close();
    const resolver = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    for (let i = 0; i < 3; i++) {
      await resolver.send(dnsQuery(`q${i}.example.com`), {
        transport: "udp",
        hostname: "127.0.0.77",
        port: 53,
      });
    }
    resolver.close();
    const result = await running;

    const flows = query(db, "SELECT * FROM flows WHERE round_id = ?", result.roundId);
    const tcpFlow = flows.filter((f) => f.protocol === "tcp");
    assert.equal(tcpFlow.length, 1, JSON.stringify(flows));
    const f = tcpFlow[0]!;
    // Both ends are this host's: the flow is told from the end that started it, the client.
    assert.deepEqual(
      [f.direction, f.port_id, f.remote_port, f.local_addr, f.remote_addr],
      ["local", clientPort, port, "127.0.0.1", "127.0.0.1"],
    );
    assert.ok(Number(f.packets_out) >= 3 && Number(f.packets_in) >= 2, JSON.stringify(f));
    assert.ok(Number(f.bytes_out) > 1000);
    assert.equal(f.state, "closed");
    assert.equal(f.pid, Deno.pid);
    const dns = flows.filter((f) => f.remote_port === 53);
    assert.equal(dns.length, 1); // one socket, one resolver: one flow of three queries
    assert.deepEqual([dns[0]!.packets_out, dns[0]!.state, dns[0]!.dns_query], [
      3,
      "unanswered",
      "q0.example.com",
    ]);
    // Packet rows, DNS first: the three queries rather than the connection's packets.
    const packets = query(db, "SELECT qry_name FROM packets WHERE round_id = ?", result.roundId);
    assert.equal(packets.length, 3);
    assert.ok(packets.every((p) => p.qry_name !== null));
  },
});

Deno.test("pad incidents show lists the busiest flows of a scan and how its flows ended", async () => {
  using dir = tempDir();
  const file = `${dir.path}/scan.pcap`;
  const target = "203.0.113.5";
  // 120 ports of one address tried from one port in 12 s; 20 closed ones answer with a reset.
  const frames = Array.from({ length: 120 }, (_, i) => [
    {
      tsMs: START + 100 * i,
      data: frame(HOST, target, tcp({ srcPort: 50_000, dstPort: i + 1, flags: SYN })),
    },
    ...(i < 20
      ? [{
        tsMs: START + 100 * i + 5,
        data: frame(target, HOST, tcp({ srcPort: i + 1, dstPort: 50_000, flags: RST | ACK })),
      }]
      : []),
  ]).flat();
  writePcap(file, 1, frames);
  const db = `${dir.path}/pad.db`;
  assert.equal((await runPad(["--db", db, "import", file, "--local", HOST])).code, 0);
  assert.equal((await runPad(["--db", db, "detect"])).code, 0);
  const shown = await runPad(["--db", db, "incidents", "show", "1", "--format", "json"]);
  assert.equal(shown.code, 0, shown.stderr);
  const incident = JSON.parse(shown.stdout);
  assert.equal(incident.kind, "outbound scan");
  assert.deepEqual(incident.flow_states, { reset: 20, unanswered: 100 });
  assert.equal(incident.flows.length, 10);
  assert.deepEqual(
    [incident.flows[0].direction, incident.flows[0].port, incident.flows[0].remote_addr],
    ["out", 50_000, target],
  );
  const text = await runPad(["--db", db, "incidents", "show", "1"]);
  assert.match(text.stdout, /120 flows of its ports and peers \(100 unanswered, 20 reset\)/);
  // The report's incident row says the same.
  const page = `${dir.path}/report.html`;
  const report = await runPad([
    ...["--db", db, "report", "--since", "2026-03-02T09:00:00Z", "--until", "2026-03-02T11:00:00Z"],
    ...["--output", page],
  ]);
  assert.equal(report.code, 0, report.stderr);
  assert.match(Deno.readTextFileSync(page), /<td class="flows">120 \(100 unanswered, 20 reset\)/);
});
