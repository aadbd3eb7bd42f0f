/**
 * What the realtime layer reports as it works (src/metrics/ turns it into Prometheus metrics).
 * Every call is cheap and synchronous: they sit on the hot paths of joins and broadcasts.
 */
import type { ApprovalOutcome } from "./approvals.js";
import type { Connection } from "./types.js";

export type TransportName = Connection["transport"];

export interface RealtimeMeter {
  /** A client frame reached the dispatcher: its message type, or `invalid` when it did not parse. */
  received(type: string): void;
  /** `count` copies of a message of `type` went to connections of this instance. */
  sent(type: string, count: number): void;
  /** A join or a message was refused with the contract's error code. */
  refused(stage: "join" | "message", code: string): void;
  /** A connection is in its room: `seconds` from its handshake, less any wait for the host's answer. */
  joined(transport: TransportName, seconds: number): void;
  /** A pending user's wait for the host's answer ended. */
  approvalWaited(outcome: ApprovalOutcome, seconds: number): void;
  /** One room message was handed to every local connection of its room in `seconds`. */
  broadcast(seconds: number): void;
  /** A connection was cut for not reading what the server sent it (close 4008). */
  slowConsumer(transport: TransportName): void;
}

/** Measures nothing (hubs built without an app, tests of one part). */
export const NO_METER: RealtimeMeter = {
  received() {},
  sent() {},
  refused() {},
  joined() {},
  approvalWaited() {},
  broadcast() {},
  slowConsumer() {},
};

/** The type of an encoded server message (`{"type":"X",…}`, as every message is encoded), or `unknown`. */
export function typeOfEncoded(json: string): string {
  const match = /^\{"type":"([A-Z_]{1,40})"/.exec(json);
  return match?.[1] ?? "unknown";
}
