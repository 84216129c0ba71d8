/**
 * Rules that need no history: what a round's connection attempts show whatever the host's
 * normal life is — a port scan (one address, a hundred ports), a horizontal scan (one port, many
 * addresses, most never answering), a brute force at a login service, one address hammering
 * one port. They flag from a database's first round, before the model has learned anything,
 * as Zeek's scan detection and fail2ban do; the model judges everything else once warmed up.
 *
 * The limits are per round, set for minute rounds and kept for shorter ones (a scan of 100
 * ports takes nmap a tenth of a second); for longer rounds the counts of attempts grow with
 * the round's length, the counts of distinct ports and addresses past ten minutes. The login
 * limit is a rate, 20 a minute, so in a round of a few seconds it is `loginAttemptsAtLeast`:
 * a password guesser keeps a handful of connections going (hydra -t 4 made 4–5 a 3-s round),
 * while a person logs in once.
 *
 * @module
 */
import type { RoundData } from "../round.ts";
import type { AnomalyPort } from "../store/detections.ts";
import type { IncidentKind } from "../store/incidents.ts";

/** The limits of the rules, per round of up to a minute. */
export const RULE_LIMITS = Object.freeze({
  /** Distinct ports one address tried (either way): a port scan. */
  portsPerPeer: 100,
  /** Distinct addresses this host tried on one remote port, most of them never answering. */
  peersPerRemotePort: 50,
  /** Attempts of one address at one login port of this host: a password brute force. */
  loginAttempts: 20,
  /** The login limit of a round shorter than a minute, whatever the rate says. */
  loginAttemptsAtLeast: 4,
  /** Attempts of one address at any one port, either way: a flood or a connection storm. */
  attemptsPerPeerPort: 1_000,
});

/**
 * Ports whose services take passwords, where fail2ban has its jails: FTP, SSH, telnet, POP3,
 * IMAP (and over TLS), RDP, VNC. Not SMTP or databases, whose legitimate clients often
 * connect many times a minute from one address.
 */
export const LOGIN_PORTS: ReadonlySet<number> = new Set([
  21,
  22,
  23,
  110,
  143,
  993,
  995,
  3389,
  5900,
]);

/** Attempts of one address at one login port that make a brute force in a round this long. */
export function loginAttemptLimit(lengthMs: number): number {
  return Math.max(
    RULE_LIMITS.loginAttemptsAtLeast,
    (RULE_LIMITS.loginAttempts * lengthMs) / 60_000,
  );
}

/** A rule's verdict on a round: what it saw, and the ports behind it. */
export interface RuleHit {
  kind: IncidentKind;
  /** Which rule, in words, for logs and tests. */
  rule: string;
  ports: AnomalyPort[];
}

/** The first rule a round breaks, or null. `lengthMs` is the round's length. */
export function ruleHit(round: RoundData, lengthMs: number): RuleHit | null {
  if (!round.captured) return null;
  const a = round.attempts;
  const minutes = Math.max(1, lengthMs / 60_000);
  const tenMinutes = Math.max(1, lengthMs / 600_000);
  const port = (p: number | null): AnomalyPort[] =>
    p === null ? [] : [{ port: p, protocol: "tcp", error: 1 }];
  if (a.portsPerPeerIn >= RULE_LIMITS.portsPerPeer * tenMinutes) {
    const reached = round.traffic.filter((t) =>
      t.direction === "in" && t.protocol === "tcp" && t.port !== null
    );
    return {
      kind: "inbound scan",
      rule: `${a.portsPerPeerIn} ports tried by ${a.peerIn}`,
      ports: reached.slice(0, 10).map((t) => ({ port: t.port, protocol: "tcp", error: 1 })),
    };
  }
  if (a.portsPerPeerOut >= RULE_LIMITS.portsPerPeer * tenMinutes) {
    return {
      kind: "outbound scan",
      rule: `${a.portsPerPeerOut} ports of ${a.peerOut} tried`,
      ports: port(a.fromPortOut),
    };
  }
  if (
    a.peersPerRemotePortOut >= RULE_LIMITS.peersPerRemotePort * tenMinutes &&
    a.unansweredOut * 2 >= a.peersOut
  ) {
    return {
      kind: "horizontal scan",
      rule: `${a.peersPerRemotePortOut} addresses tried on tcp/${a.remotePortOut}, ` +
        `${a.unansweredOut} of ${a.peersOut} never answered`,
      ports: port(a.fromPortOut),
    };
  }
  if (
    a.attemptsPortIn !== null && LOGIN_PORTS.has(a.attemptsPortIn) &&
    a.attemptsPerPeerPortIn >= loginAttemptLimit(lengthMs)
  ) {
    return {
      kind: "brute force",
      rule: `${a.attemptsPerPeerPortIn} attempts at tcp/${a.attemptsPortIn} by ${a.attemptsPeerIn}`,
      ports: port(a.attemptsPortIn),
    };
  }
  const hammered = Math.max(a.attemptsPerPeerPortIn, a.attemptsPerPeerPortOut);
  if (hammered >= RULE_LIMITS.attemptsPerPeerPort * minutes) {
    const inbound = a.attemptsPerPeerPortIn >= a.attemptsPerPeerPortOut;
    return {
      kind: "flood",
      rule: `${hammered} attempts at one port by one address`,
      ports: port(inbound ? a.attemptsPortIn : a.fromPortOut),
    };
  }
  return null;
}
