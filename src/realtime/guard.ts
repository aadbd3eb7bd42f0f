/**
 * Socket abuse limits: connection attempts per client address (counted across the cluster by
 * the attempt limiter) and open sockets per user and per client address (on this instance).
 * The transports count every connection they accept against its address's budgets before it
 * asks for anything (a raw upgrade, an engine.io connection whatever namespace it wants); the
 * hub counts members and waiting users against their account's. Refusals close with 4029
 * (TOO_MANY_CONNECTIONS) and the RATE_LIMITED code.
 */
import type { IncomingHttpHeaders } from "node:http";
import { CLOSE_CODES } from "@streamit/protocol";
import type { AttemptLimiter } from "../state/limiter.js";
import { JoinRejected } from "./types.js";

export interface SocketLimits {
  /** Open sockets one user may hold on one instance (tabs, devices). */
  perUser: number;
  /** Open sockets from one client address on one instance. */
  perClient: number;
  /** Connection attempts per client address per minute, across the cluster. */
  attemptsPerMinute: number;
}

/** The client's address: the first X-Forwarded-For hop when the proxy is trusted. */
export function clientAddress(headers: IncomingHttpHeaders, remote: string | undefined, trustProxy: boolean): string {
  const forwarded = headers["x-forwarded-for"];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
  return (trustProxy && first) || remote || "unknown";
}

export class ConnectionGuard {
  private readonly users = new Map<string, number>();
  private readonly clients = new Map<string, number>();

  constructor(
    private readonly limiter: AttemptLimiter,
    readonly limits: SocketLimits,
  ) {}

  /**
   * A new transport connection from `client` (a raw WebSocket upgrade, an engine.io connection,
   * whatever it asks for next): takes one of the address's open-socket slots, synchronously so a
   * burst cannot overshoot, then counts the attempt. Throws JoinRejected (4029); returns the
   * slot's release.
   */
  async open(client: string): Promise<() => void> {
    const release = this.claim(this.clients, client, this.limits.perClient, "Too many open connections from this address");
    try {
      await this.attempt(client);
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  /** Counts a connection attempt; throws JoinRejected once the address is over its budget. */
  async attempt(client: string): Promise<void> {
    const verdict = await this.limiter.hit(`socket:connect:${client}`, { limit: this.limits.attemptsPerMinute, windowSeconds: 60 });
    if (!verdict.allowed) {
      throw new JoinRejected(
        CLOSE_CODES.TOO_MANY_CONNECTIONS,
        "RATE_LIMITED",
        `Too many connection attempts. Retry in ${verdict.retryAfterSeconds} s.`,
      );
    }
  }

  /** Takes an open-socket slot of the user (a member, or a pending user waiting), or throws. */
  claimUser(userId: string): () => void {
    return this.claim(this.users, userId, this.limits.perUser, "Too many open connections for this account");
  }

  private claim(counts: Map<string, number>, key: string, limit: number, refusal: string): () => void {
    if ((counts.get(key) ?? 0) >= limit) throw new JoinRejected(CLOSE_CODES.TOO_MANY_CONNECTIONS, "RATE_LIMITED", refusal);
    bump(counts, key, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      bump(counts, key, -1);
    };
  }
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const next = (map.get(key) ?? 0) + by;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}
