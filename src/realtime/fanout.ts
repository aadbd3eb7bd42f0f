/**
 * Fan-out to this instance's connections of a room, through every transport. A message with a
 * log key is first appended to the room log (once per key, whichever instances append it) and
 * goes out with its seq. A room's messages leave in call order. Other instances get the room's
 * messages as room events (room-events.ts): this module never crosses instances.
 */
import type { ServerMessage } from "@streamit/protocol";
import type { RoomLog } from "../state/room-log.js";
import type { LiveRoom, Seq } from "./live-room.js";
import type { RealtimeMeter } from "./meter.js";
import type { HubLogger, Transport } from "./types.js";

/** Connection ids a message is not for, or a function that names them when it goes out. */
export type Except = Iterable<string> | (() => Iterable<string>);

/** How long a logged message waits for its log append before it goes out without a seq. */
const LOG_APPEND_WAIT_MS = 500;

export class RoomFanout {
  private readonly transports: Transport[] = [];

  constructor(
    /** The room log, when resumable sessions are on. */
    private readonly log: RoomLog | undefined,
    private readonly logger: HubLogger,
    private readonly meter: RealtimeMeter,
  ) {}

  addTransport(transport: Transport): void {
    this.transports.push(transport);
  }

  /**
   * Starts appending the message to the room log (appends of a room pipeline in order). Only
   * the send waits for it, and not for long: a slow or unreachable log must not hold the room's
   * messages back.
   */
  append(live: LiveRoom, message: ServerMessage, logKey: string): Seq {
    return this.log ? this.appendBounded(live, this.log, logKey, message) : Promise.resolve(undefined);
  }

  /**
   * Sends to the room's connections here; settles once this message has gone out. With a
   * `logKey`, after its log append (or with `seq`, a position already known). `except` may be
   * a function: it is asked when the message goes out (an audience such as "every connection
   * without delta presence" changes while earlier messages wait).
   */
  send(live: LiveRoom, message: ServerMessage, except?: Except, logKey?: string, seq?: Seq): Promise<void> {
    const fixed = except === undefined || typeof except === "function" ? undefined : new Set(except);
    const appended = seq ?? (this.log && logKey !== undefined ? this.appendBounded(live, this.log, logKey, message) : undefined);
    return this.inSendOrder(live, async () => {
      const seq = appended ? await appended : undefined;
      const excluded = typeof except === "function" ? new Set(except()) : fixed;
      const started = performance.now();
      for (const transport of this.transports) transport.broadcast(live.code, message, excluded, seq);
      this.meter.broadcast((performance.now() - started) / 1000);
    });
  }

  /** Runs `step` after the room's earlier messages (and replays) have gone out. */
  inSendOrder(live: LiveRoom, step: () => Promise<void>): Promise<void> {
    const run = live.sendChain.then(step).catch((err: unknown) => this.logger.error({ err, room: live.code }, "room send failed"));
    live.sendChain = run;
    return run;
  }

  /** Settles once every message of the room queued so far (and after) has gone out. */
  async settled(live: LiveRoom): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = live.sendChain;
      await chain;
    } while (chain !== live.sendChain);
  }

  /** This instance no longer has anyone in the room: the transports let go of it. */
  release(live: LiveRoom): void {
    for (const transport of this.transports) transport.releaseRoom?.(live.code);
  }

  /** The message's seq, or undefined when the log failed or took longer than LOG_APPEND_WAIT_MS. */
  private appendBounded(live: LiveRoom, log: RoomLog, key: string, message: ServerMessage): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), LOG_APPEND_WAIT_MS);
    });
    const append = log.append(live.id, key, JSON.stringify(message)).catch((err: unknown) => {
      // Delivered all the same, without a seq; a client resuming across it gets a full re-join.
      this.logger.warn({ err, room: live.code }, "room log append failed");
      return undefined;
    });
    return Promise.race([append, late]).finally(() => clearTimeout(timer));
  }
}
