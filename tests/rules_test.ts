import assert from "node:assert/strict";
import { LOGIN_PORTS, RULE_LIMITS, ruleHit } from "../src/detect/rules.ts";
import { NO_ATTEMPTS, type RoundData } from "../src/round.ts";

const MINUTE = 60_000;

function round(attempts: Partial<RoundData["attempts"]>, captured = true): RoundData {
  return {
    id: 1,
    startTime: 0,
    occupied: [],
    traffic: [{
      port: 22,
      protocol: "tcp",
      direction: "in",
      packets: 10,
      bytes: 600,
      peers: 1,
      remotePorts: 10,
    }],
    dns: { queries: 0, maxNameLength: 0, meanNameLength: 0 },
    attempts: { ...NO_ATTEMPTS, ...attempts },
    captured,
  };
}

Deno.test("a port scan either way breaks a rule at 100 ports of one address, not at 99", () => {
  const scan = (n: number) => round({ portsPerPeerIn: n, peerIn: "203.0.113.66" });
  assert.equal(ruleHit(scan(99), MINUTE), null);
  assert.equal(ruleHit(scan(100), MINUTE)?.kind, "inbound scan");
  const out = ruleHit(
    round({ portsPerPeerOut: 1000, peerOut: "198.51.100.7", fromPortOut: 45_000 }),
    MINUTE,
  );
  assert.equal(out?.kind, "outbound scan");
  assert.deepEqual(out?.ports, [{ port: 45_000, protocol: "tcp", error: 1 }]);
});

Deno.test("a horizontal scan needs one port on 50 addresses and most of them silent", () => {
  const worm = (peers: number, unanswered: number) =>
    round({
      peersPerRemotePortOut: peers,
      remotePortOut: 23,
      peersOut: peers,
      unansweredOut: unanswered,
    });
  assert.equal(ruleHit(worm(60, 58), MINUTE)?.kind, "horizontal scan");
  assert.equal(ruleHit(worm(49, 49), MINUTE), null);
  // 60 servers that all answer: a crawler or a monitoring system, not a scan.
  assert.equal(ruleHit(worm(60, 5), MINUTE), null);
});

Deno.test("a brute force is counted at login ports only; elsewhere only a flood breaks a rule", () => {
  const attempts = (port: number, n: number) =>
    round({ attemptsPerPeerPortIn: n, attemptsPeerIn: "203.0.113.9", attemptsPortIn: port });
  assert.ok(LOGIN_PORTS.has(22) && LOGIN_PORTS.has(21) && !LOGIN_PORTS.has(80));
  assert.equal(ruleHit(attempts(22, RULE_LIMITS.loginAttempts), MINUTE)?.kind, "brute force");
  assert.equal(ruleHit(attempts(22, RULE_LIMITS.loginAttempts - 1), MINUTE), null);
  // 40 connections a minute to a web server from one client is an ordinary client.
  assert.equal(ruleHit(attempts(80, 40), MINUTE), null);
  assert.equal(ruleHit(attempts(80, RULE_LIMITS.attemptsPerPeerPort), MINUTE)?.kind, "flood");
});

Deno.test("limits hold for short rounds and grow with long ones; a round without capture breaks none", () => {
  const ssh = round({ attemptsPerPeerPortIn: 30, attemptsPeerIn: "192.0.2.9", attemptsPortIn: 22 });
  assert.equal(ruleHit(ssh, 3_000)?.kind, "brute force"); // 30 in 3 s
  assert.equal(ruleHit(ssh, 10 * MINUTE), null); // 30 in 10 minutes: 3 a minute
  // The login limit is a rate (20 a minute), at least 4 in a round of a few seconds: a password
  // guesser keeps four connections going, a person logs in once.
  const logins = (n: number) =>
    round({ attemptsPerPeerPortIn: n, attemptsPeerIn: "192.0.2.9", attemptsPortIn: 21 });
  assert.equal(ruleHit(logins(RULE_LIMITS.loginAttemptsAtLeast), 3_000)?.kind, "brute force");
  assert.equal(ruleHit(logins(RULE_LIMITS.loginAttemptsAtLeast - 1), 3_000), null);
  assert.equal(ruleHit(logins(10), 30_000)?.kind, "brute force");
  assert.equal(ruleHit(logins(9), 30_000), null);
  const scan = round({ portsPerPeerIn: 150, peerIn: "192.0.2.9" });
  assert.equal(ruleHit(scan, 10 * MINUTE)?.kind, "inbound scan");
  assert.equal(ruleHit(scan, 60 * MINUTE), null); // 150 ports in an hour
  assert.equal(ruleHit({ ...scan, captured: false }, MINUTE), null);
});
