/**
 * Schedules "grace ends" for rooms. Embedded mode uses in-process timers; cluster mode uses
 * delayed jobs. The expiry itself is a conditional UPDATE, so a late or repeated run is harmless.
 */

export interface GraceScheduler {
  schedule(roomId: string, at: Date): void | Promise<void>;
  cancel(roomId: string): void | Promise<void>;
  close(): void | Promise<void>;
}

/** Fired this much after the due time, so that the conditional expiry sees the deadline passed. */
const DUE_MARGIN_MS = 20;

export class TimerScheduler implements GraceScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly onDue: (roomId: string) => Promise<void>) {}

  schedule(roomId: string, at: Date): void {
    this.cancel(roomId);
    // setTimeout caps at ~24.8 days; grace periods are minutes. A timer may fire a millisecond
    // before the wall clock reaches `at` (the expiry is conditional on it): a small margin.
    const delay = Math.min(Math.max(0, at.getTime() - Date.now()) + DUE_MARGIN_MS, 2 ** 31 - 1);
    const timer = setTimeout(() => {
      this.timers.delete(roomId);
      this.onDue(roomId).catch(() => {
        /* the periodic sweep retries */
      });
    }, delay);
    timer.unref();
    this.timers.set(roomId, timer);
  }

  cancel(roomId: string): void {
    const timer = this.timers.get(roomId);
    if (timer) clearTimeout(timer);
    this.timers.delete(roomId);
  }

  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
