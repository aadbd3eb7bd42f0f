/**
 * Room events across processes: published on one Redis channel, delivered by every instance
 * (the publisher included, through its own subscription) to its local listeners.
 */
import type { RedisClient } from "../redis.js";
import { LocalRoomEventBus, type PublishedRoomEvent, type RoomEvent, type RoomEventBus, withEventId } from "./room-events.js";

export class RedisRoomEventBus implements RoomEventBus {
  private readonly local = new LocalRoomEventBus();
  private readonly channel: string;

  private constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
    prefix: string,
  ) {
    this.channel = `${prefix}room-events`;
  }

  static async create(redis: RedisClient, prefix: string, onError: (err: Error) => void): Promise<RedisRoomEventBus> {
    const subscriber = redis.duplicate();
    subscriber.on("error", onError);
    await subscriber.connect();
    const bus = new RedisRoomEventBus(redis, subscriber, prefix);
    await subscriber.subscribe(bus.channel, (message) => {
      try {
        bus.local.publish(JSON.parse(message) as RoomEvent);
      } catch (err) {
        onError(err as Error);
      }
    });
    return bus;
  }

  publish(event: RoomEvent): void {
    const published = withEventId(event);
    this.publisher.publish(this.channel, JSON.stringify(published)).catch(() => {
      // Redis is down: deliver here at least, so this instance's clients stay consistent.
      this.local.publish(published);
    });
  }

  subscribe(listener: (event: PublishedRoomEvent) => void): () => void {
    return this.local.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.subscriber.isOpen) await this.subscriber.quit().catch(() => this.subscriber.destroy());
  }
}
