/**
 * A round's TCP connection attempts (SYN without ACK), each way, and who made the most of them:
 * the figures that tell a port scan (one address, many ports), a horizontal scan (many
 * addresses, one port, few answers), a brute force (many attempts at one port) and a SYN flood
 * apart, and name the address and port behind each. Only SYN packets are followed here, so the
 * cost per ordinary packet is nothing.
 *
 * @module
 */
import type { ConnectionAttempts } from "../round.ts";

/**
 * Remote addresses (and address–port pairs) followed per direction and round (memory bound): a
 * SYN flood from random source addresses adds one each; later ones are not counted.
 */
export const SYN_PEER_LIMIT = 65_536;

/** One way's attempts. */
class Side {
  /** Remote address → ports reached for (this host's in, the remote's out). */
  readonly portsByPeer = new Map<string, Set<number>>();
  /** `peer port` → attempts. */
  readonly pairs = new Map<string, number>();

  add(peer: string, port: number): void {
    let ports = this.portsByPeer.get(peer);
    if (!ports) {
      if (this.portsByPeer.size >= SYN_PEER_LIMIT) return;
      ports = new Set();
      this.portsByPeer.set(peer, ports);
    }
    ports.add(port);
    const pair = `${peer} ${port}`;
    const attempts = this.pairs.get(pair);
    if (attempts !== undefined) this.pairs.set(pair, attempts + 1);
    else if (this.pairs.size < SYN_PEER_LIMIT) this.pairs.set(pair, 1);
  }

  /** The address that reached for the most ports, and how many. */
  widest(): { peer: string | null; ports: number } {
    let best: { peer: string | null; ports: number } = { peer: null, ports: 0 };
    for (const [peer, ports] of this.portsByPeer) {
      if (ports.size > best.ports) best = { peer, ports: ports.size };
    }
    return best;
  }

  /** The address–port pair with the most attempts. */
  busiestPair(): { peer: string | null; port: number | null; attempts: number } {
    let best: { peer: string | null; port: number | null; attempts: number } = {
      peer: null,
      port: null,
      attempts: 0,
    };
    for (const [pair, attempts] of this.pairs) {
      if (attempts <= best.attempts) continue;
      const space = pair.lastIndexOf(" ");
      best = { peer: pair.slice(0, space), port: Number(pair.slice(space + 1)), attempts };
    }
    return best;
  }

  /** How many of the addresses are not in `heard`. */
  unanswered(heard: ReadonlySet<string>): number {
    let n = 0;
    for (const peer of this.portsByPeer.keys()) if (!heard.has(peer)) n++;
    return n;
  }
}

/** Follows one round's connection attempts. */
export class ConnectionAttemptTally {
  readonly #in = new Side();
  readonly #out = new Side();
  /** Local port → attempts this host made from it (to name a scanner's port). */
  readonly #fromPorts = new Map<number, number>();

  /** An attempt from `peer` to this host's `port`. */
  addIn(peer: string, port: number): void {
    this.#in.add(peer, port);
  }

  /** An attempt from this host's `localPort` to `peer`'s `port`. */
  addOut(peer: string, port: number, localPort: number | null): void {
    this.#out.add(peer, port);
    if (
      localPort !== null &&
      (this.#fromPorts.size < SYN_PEER_LIMIT || this.#fromPorts.has(localPort))
    ) {
      this.#fromPorts.set(localPort, (this.#fromPorts.get(localPort) ?? 0) + 1);
    }
  }

  /**
   * The round's figures. `heardFrom` holds the remote addresses that sent this host anything
   * and `spokenTo` those it sent anything to, to tell which attempts were never answered.
   */
  figures(heardFrom: ReadonlySet<string>, spokenTo: ReadonlySet<string>): ConnectionAttempts {
    const widestIn = this.#in.widest();
    const widestOut = this.#out.widest();
    const pairIn = this.#in.busiestPair();
    const pairOut = this.#out.busiestPair();
    // Remote port → addresses this host tried on it: a worm tries one port everywhere.
    const peersByRemotePort = new Map<number, number>();
    for (const ports of this.#out.portsByPeer.values()) {
      for (const port of ports) peersByRemotePort.set(port, (peersByRemotePort.get(port) ?? 0) + 1);
    }
    let remotePortOut: number | null = null;
    let peersPerRemotePortOut = 0;
    for (const [port, peers] of peersByRemotePort) {
      if (peers > peersPerRemotePortOut) [remotePortOut, peersPerRemotePortOut] = [port, peers];
    }
    let fromPortOut: number | null = null;
    let fromCount = 0;
    for (const [port, count] of this.#fromPorts) {
      if (count > fromCount) [fromPortOut, fromCount] = [port, count];
    }
    return {
      portsPerPeerIn: widestIn.ports,
      peerIn: widestIn.peer,
      portsPerPeerOut: widestOut.ports,
      peerOut: widestOut.peer,
      fromPortOut,
      peersIn: this.#in.portsByPeer.size,
      unansweredIn: this.#in.unanswered(spokenTo),
      peersOut: this.#out.portsByPeer.size,
      unansweredOut: this.#out.unanswered(heardFrom),
      peersPerRemotePortOut,
      remotePortOut,
      attemptsPerPeerPortIn: pairIn.attempts,
      attemptsPeerIn: pairIn.peer,
      attemptsPortIn: pairIn.port,
      attemptsPerPeerPortOut: pairOut.attempts,
      attemptsPeerOut: pairOut.peer,
      attemptsPortOut: pairOut.port,
    };
  }
}
