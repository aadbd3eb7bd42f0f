/**
 * One client frame: flood control, validation against the registry, then the owning feature's
 * handler with its narrow context. Failures become the contract's ERROR codes.
 */

import type { ServerMessage } from "@streamit/protocol";
import { parseClientMessage } from "@streamit/protocol";
import { isAppError, isDependencyDown } from "../errors.js";
import type { RoomEvent } from "../events/room-events.js";
import type { EventOfRoom, MessageContext } from "../protocol/feature.js";
import { type CommandResult, fail } from "../protocol/results.js";
import type { CommandLedger } from "../state/command-ledger/command-ledger.js";
import type { LiveRoom } from "./live-room.js";
import type { RealtimeMeter } from "./meter.js";
import { entryOf, type FeatureServices, featureOf } from "./protocol.js";
import { type HubLogger, InvalidFrame, type Member } from "./types.js";

/** Per-connection flood control: a token bucket of messages. */
const FLOOD = { ratePerSecond: 20, burst: 40 } as const;
/** How long a command_id is remembered (a resend after this is applied again). */
const COMMAND_ID_TTL_MS = 10 * 60 * 1000;

export interface DispatchDeps {
  services: FeatureServices;
  ledger: CommandLedger;
  publish: (event: RoomEvent) => Promise<void>;
  applyHere: (event: RoomEvent) => Promise<void>;
  logger: HubLogger;
  meter: RealtimeMeter;
}

export class Dispatcher {
  private readonly buckets = new WeakMap<Member, { tokens: number; at: number; warnedAt: number }>();

  constructor(private readonly deps: DispatchDeps) {}

  /** Runs one frame. `null` means "drop silently" (a flood past its first warning). Never rejects. */
  async run(live: LiveRoom, member: Member, frame: unknown): Promise<CommandResult | null> {
    const flood = this.spend(member);
    if (flood !== undefined) return flood;
    if (frame instanceof InvalidFrame) {
      this.deps.meter.received("invalid");
      return fail("VALIDATION_FAILED", frame.reason);
    }
    const parsed = parseClientMessage(frame);
    // Only the registry's types are labels: a client cannot grow the metric with made-up ones.
    if (!parsed.ok) {
      this.deps.meter.received("invalid");
      return { ok: false, error: parsed.error };
    }
    const { type, ...message } = parsed.message;
    this.deps.meter.received(type);
    const services = this.deps.services[featureOf.get(type)!];
    try {
      return await entryOf(type).handle(this.context(live, member, services), message);
    } catch (err) {
      return this.failure(err, member);
    }
  }

  private context(live: LiveRoom, member: Member, services: unknown): MessageContext<unknown> {
    const ofRoom = (event: EventOfRoom) => ({ ...event, roomId: live.id, code: live.code }) as RoomEvent;
    return {
      room: live,
      sender: member,
      services,
      reply: (message: ServerMessage) => member.connection.send(message),
      broadcast: (message, options = {}) =>
        this.deps.publish({
          type: "room.broadcast",
          roomId: live.id,
          code: live.code,
          message,
          logKey: options.logKey,
          except: options.except && [...options.except],
        }),
      publish: (event) => this.deps.publish(ofRoom(event)),
      applyHere: (event) => this.deps.applyHere(ofRoom(event)),
      once: (key, duplicate, command) => this.once(live, key, duplicate, command),
    };
  }

  private failure(err: unknown, member: Member): CommandResult {
    if (isAppError(err)) return fail(err.code, err.message);
    if (isDependencyDown(err)) {
      this.deps.logger.warn({ err, connection: member.connection.id }, "message refused: a dependency is unavailable");
      return fail("SERVICE_UNAVAILABLE", "Temporarily unavailable, please retry");
    }
    this.deps.logger.error({ err, connection: member.connection.id }, "message handling failed");
    return fail("INTERNAL_ERROR", "Something went wrong, please retry");
  }

  private spend(member: Member): CommandResult | null | undefined {
    const now = Date.now();
    const bucket = this.buckets.get(member) ?? { tokens: FLOOD.burst, at: now, warnedAt: 0 };
    bucket.tokens = Math.min(FLOOD.burst, bucket.tokens + ((now - bucket.at) / 1000) * FLOOD.ratePerSecond);
    bucket.at = now;
    this.buckets.set(member, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    if (now - bucket.warnedAt < 1000) return null;
    bucket.warnedAt = now;
    return fail("RATE_LIMITED", "Too many messages. Slow down.");
  }

  /**
   * Runs `command` once per `key` (none given: always). A resend of a key is answered with
   * `duplicate()` and does nothing, atomically across tabs and instances. A key whose command was
   * refused or failed is released, so a retry with it is not mistaken for a duplicate.
   */
  private async once(
    live: LiveRoom,
    key: string | undefined,
    duplicate: () => CommandResult,
    command: () => Promise<CommandResult>,
  ): Promise<CommandResult> {
    if (key === undefined) return command();
    const { ledger } = this.deps;
    if (!(await ledger.claim(live.id, key, COMMAND_ID_TTL_MS))) return duplicate();
    const release = () => ledger.release(live.id, key).catch(() => {});
    let result: CommandResult;
    try {
      result = await command();
    } catch (err) {
      await release();
      throw err;
    }
    if (!result.ok) await release();
    return result;
  }
}
