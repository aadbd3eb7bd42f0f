/**
 * Cross-instance delivery for raw WebSocket clients: one sharded Redis channel per room,
 * subscribed only by instances that hold raw clients of that room (Redis 7 SSUBSCRIBE).
 */
import type { RedisClient } from "../redis.js";

export interface RawFanout {
  readonly instanceId: string;
  /** `seq`: the frame's room log position (resumable clients get it). */
  publish(roomCode: string, frame: string, except: readonly string[], seq?: number): void;
  /** Starts receiving a room's frames from other instances. */
  join(roomCode: string, deliver: (frame: string, except: ReadonlySet<string>, seq?: number) => void): void;
  leave(roomCode: string): void;
  close(): Promise<void>;
}

interface Envelope {
  origin: string;
  except: string[];
  frame: string;
  seq?: number | undefined;
}

export class RedisRawFanout implements RawFanout {
  private constructor(
    readonly instanceId: string,
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly prefix: string,
  ) {}

  static async create(redis: RedisClient, prefix: string, instanceId: string, onError: (err: Error) => void) {
    const subscriber = redis.duplicate();
    subscriber.on("error", onError);
    await subscriber.connect();
    return new RedisRawFanout(instanceId, redis, subscriber, prefix);
  }

  publish(roomCode: string, frame: string, except: readonly string[], seq?: number): void {
    const envelope: Envelope = { origin: this.instanceId, except: [...except], frame, seq };
    this.publisher.sPublish(this.channel(roomCode), JSON.stringify(envelope)).catch(() => {});
  }

  join(roomCode: string, deliver: (frame: string, except: ReadonlySet<string>, seq?: number) => void): void {
    this.subscriber
      .sSubscribe(this.channel(roomCode), (message) => {
        const envelope = JSON.parse(message) as Envelope;
        if (envelope.origin !== this.instanceId) deliver(envelope.frame, new Set(envelope.except), envelope.seq);
      })
      .catch(() => {});
  }

  leave(roomCode: string): void {
    this.subscriber.sUnsubscribe(this.channel(roomCode)).catch(() => {});
  }

  async close(): Promise<void> {
    if (this.subscriber.isOpen) await this.subscriber.quit().catch(() => this.subscriber.destroy());
  }

  private channel(roomCode: string): string {
    return `${this.prefix}raw#${roomCode}`;
  }
}
