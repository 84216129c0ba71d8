import assert from "node:assert/strict";
import { parseDns, readName } from "../src/capture/dns.ts";
import {
  concat,
  dnsAResponse,
  dnsCnameResponse,
  dnsHeader,
  dnsName,
  dnsQuery,
  dnsRecord,
} from "../fixtures/frames.ts";

const HEADER = 12;

Deno.test("parseDns() names the question of a query and leaves the response name null", () => {
  assert.deepEqual(parseDns(dnsQuery("mail.example.com")), {
    response: false,
    queryName: "mail.example.com",
    responseName: null,
  });
});

Deno.test("parseDns() follows compression to the CNAME target of a response", () => {
  const message = dnsCnameResponse(
    "www.example.com",
    "www.example.com.cdn.example.net",
    "192.0.2.1",
  );
  assert.deepEqual(parseDns(message), {
    response: true,
    queryName: "www.example.com",
    responseName: "www.example.com.cdn.example.net",
  });
});

Deno.test("parseDns() names a PTR answer by its target and an A answer by its owner", () => {
  const ptrOwner = "1.2.0.192.in-addr.arpa";
  const ptr = concat(
    dnsHeader({ response: true, questions: 1, answers: 1 }),
    dnsName(ptrOwner),
    Uint8Array.of(0, 12, 0, 1),
    dnsRecord(Uint8Array.of(0xc0, HEADER), 12, dnsName("host", HEADER + 2)), // "host" + ".2.0.192…"
  );
  assert.equal(parseDns(ptr)?.responseName, "host.2.0.192.in-addr.arpa");
  assert.equal(parseDns(dnsAResponse("example.org", "192.0.2.2"))?.responseName, "example.org");
});

Deno.test("parseDns() gives a response without answers a null response name", () => {
  const nxdomain = concat(
    dnsHeader({ response: true, questions: 1, answers: 0 }),
    dnsName("nope.example"),
    Uint8Array.of(0, 1, 0, 1),
  );
  assert.deepEqual(parseDns(nxdomain), {
    response: true,
    queryName: "nope.example",
    responseName: null,
  });
});

Deno.test("parseDns() returns null below a header and null names for a truncated message", () => {
  assert.equal(parseDns(new Uint8Array(11)), null);
  const message = dnsCnameResponse("www.example.com", "target.example.net", "192.0.2.1");
  for (let length = HEADER; length < message.length; length++) {
    const summary = parseDns(message.subarray(0, length));
    assert.ok(summary, `length ${length}`);
    if (summary.queryName !== null) assert.equal(summary.queryName, "www.example.com");
    if (summary.responseName !== null) assert.equal(summary.responseName, "target.example.net");
  }
  assert.equal(parseDns(message.subarray(0, 20))?.queryName, null);
});

Deno.test("readName() rejects pointer loops, forward pointers and pointer chains over 64", () => {
  const self = concat(new Uint8Array(HEADER), Uint8Array.of(0xc0, HEADER));
  assert.equal(readName(self, HEADER), null);
  const forward = concat(new Uint8Array(HEADER), Uint8Array.of(0xc0, HEADER + 2, 0));
  assert.equal(readName(forward, HEADER), null);
  // "a" → pointer to itself via a label: 12: 1 'a' c0 0c — reads "a", then points back to 12.
  const labelLoop = concat(new Uint8Array(HEADER), Uint8Array.of(1, 0x61, 0xc0, HEADER));
  assert.equal(readName(labelLoop, HEADER), null);
  // A chain of 70 pointers, each to the one before, ending in the root: too many jumps.
  const chain = new Uint8Array(2 + 70 * 2);
  chain[0] = 0;
  for (let i = 0; i < 70; i++) chain.set([0xc0, i === 0 ? 0 : 1 + (i - 1) * 2], 1 + i * 2);
  assert.equal(readName(chain, 1 + 69 * 2), null);
  assert.deepEqual(readName(chain, 1 + 10 * 2), { name: ".", end: 1 + 10 * 2 + 2 });
});

Deno.test("readName() rejects extended label types, long names and truncation", () => {
  assert.equal(readName(Uint8Array.of(0x40, 1, 0), 0), null);
  assert.equal(readName(Uint8Array.of(0x80, 1, 0), 0), null);
  const label = concat(Uint8Array.of(63), new Uint8Array(63).fill(0x61));
  const name = (labels: number) => concat(...new Array(labels).fill(label), Uint8Array.of(0));
  assert.equal(readName(name(3), 0)?.name.length, 3 * 63 + 2); // 193 wire bytes: fine
  assert.equal(readName(name(4), 0), null); // 257 wire bytes: over 255
  assert.equal(readName(Uint8Array.of(5, 0x61, 0x62), 0), null);
  assert.equal(readName(Uint8Array.of(1, 0x61), 0), null);
});

Deno.test("readName() escapes dots, backslashes and non-printable bytes like dig", () => {
  const message = Uint8Array.of(4, 0x61, 0x2e, 0x5c, 0xe4, 1, 0x20, 0);
  assert.deepEqual(readName(message, 0), { name: "a\\.\\\\\\228.\\032", end: 8 });
  assert.deepEqual(readName(Uint8Array.of(0), 0), { name: ".", end: 1 });
});
