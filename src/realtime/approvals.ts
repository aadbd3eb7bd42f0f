/**
 * Pending users who wait on an open connection for the host's answer (`wait=1` on the raw path,
 * `auth.wait` on Socket.IO). The answer arrives as a room event, which every instance sees, so a
 * host approving on any instance reaches the waiter wherever it is connected.
 */
import type { PublishedRoomEvent } from "../events/room-events.js";
import type { RoomHooks } from "../protocol/feature.js";

/**
 * `answered`: something changed (approved, removed, the room closed): admission runs again and
 * decides. `rejected`: the host declined. `timeout`: no answer in time. `gone`: the client left.
 */
export type ApprovalOutcome = "answered" | "rejected" | "timeout" | "gone";

export class ApprovalWaits implements RoomHooks {
  /** `roomId:userId` → the waiters' settle functions. */
  private readonly waiting = new Map<string, Set<(outcome: ApprovalOutcome) => void>>();

  constructor(private readonly maxWaitMs: number) {}

  /** Connections waiting now. */
  get size(): number {
    let n = 0;
    for (const listeners of this.waiting.values()) n += listeners.size;
    return n;
  }

  get waitSeconds(): number {
    return Math.round(this.maxWaitMs / 1000);
  }

  /**
   * Waits for the host's answer to the user's request. `stillPending` reads the request again
   * once this waiter is registered, so an answer given just before is not missed.
   */
  async wait(roomId: string, userId: string, stillPending: () => Promise<boolean>, signal?: AbortSignal): Promise<ApprovalOutcome> {
    const key = `${roomId}:${userId}`;
    let settle!: (outcome: ApprovalOutcome) => void;
    const outcome = new Promise<ApprovalOutcome>((resolve) => (settle = resolve));
    const listeners = this.waiting.get(key) ?? new Set();
    this.waiting.set(key, listeners);
    listeners.add(settle);
    const timer = setTimeout(() => settle("timeout"), this.maxWaitMs);
    const onAbort = () => settle("gone");
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal?.aborted) return "gone";
      if (!(await stillPending())) settle("answered");
      return await outcome;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      listeners.delete(settle);
      if (listeners.size === 0 && this.waiting.get(key) === listeners) this.waiting.delete(key);
    }
  }

  /** Settles the waiters a room event concerns. */
  roomEvent(event: PublishedRoomEvent): void {
    if (this.waiting.size === 0) return;
    switch (event.type) {
      case "participant.approved":
      case "member.removed":
        this.settle(`${event.roomId}:${event.userId}`, "answered");
        return;
      case "participant.rejected":
        this.settle(`${event.roomId}:${event.userId}`, "rejected");
        return;
      case "room.deleted":
      case "room.expired":
        for (const key of [...this.waiting.keys()]) if (key.startsWith(`${event.roomId}:`)) this.settle(key, "answered");
        return;
    }
  }

  /** A drain: every waiter goes back to admission, which refuses it (the server is restarting). */
  close(): void {
    for (const key of [...this.waiting.keys()]) this.settle(key, "answered");
  }

  private settle(key: string, outcome: ApprovalOutcome): void {
    for (const settle of this.waiting.get(key) ?? []) settle(outcome);
  }
}
