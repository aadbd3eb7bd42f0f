/**
 * Schedules the start of rooms' parties. Embedded mode uses in-process timers; cluster mode uses
 * BullMQ delayed jobs (bullmq.ts). A firing names the party time it was scheduled for, and the
 * start is conditional on the room still having that time, so a stale, repeated or late firing
 * does nothing wrong.
 */

export interface PartyScheduler {
  /** Fires `start(roomId, startsAt)` at `fireAt` (a little before `startsAt`: the start lead). */
  schedule(roomId: string, startsAt: Date, fireAt: Date): void | Promise<void>;
  /** Drops the firing scheduled for `startsAt` (a moved or cleared party). */
  cancel(roomId: string, startsAt: Date): void | Promise<void>;
  close(): void | Promise<void>;
}

/** setTimeout's longest delay (~24.8 days); a party up to 30 days ahead waits in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class PartyTimers implements PartyScheduler {
  /** One timer per room: a room has one party time. */
  private readonly timers = new Map<string, { startsAt: number; timer: NodeJS.Timeout }>();

  constructor(private readonly start: (roomId: string, startsAt: Date) => Promise<unknown>) {}

  schedule(roomId: string, startsAt: Date, fireAt: Date): void {
    this.clear(roomId);
    const delay = fireAt.getTime() - Date.now();
    const timer = setTimeout(
      () => {
        if (delay > MAX_TIMER_MS) return this.schedule(roomId, startsAt, fireAt);
        this.timers.delete(roomId);
        this.start(roomId, startsAt).catch(() => {
          /* a restart re-schedules; the start is conditional */
        });
      },
      Math.min(Math.max(0, delay), MAX_TIMER_MS),
    );
    timer.unref();
    this.timers.set(roomId, { startsAt: startsAt.getTime(), timer });
  }

  cancel(roomId: string, startsAt: Date): void {
    if (this.timers.get(roomId)?.startsAt === startsAt.getTime()) this.clear(roomId);
  }

  close(): void {
    for (const roomId of [...this.timers.keys()]) this.clear(roomId);
  }

  private clear(roomId: string): void {
    clearTimeout(this.timers.get(roomId)?.timer);
    this.timers.delete(roomId);
  }
}
