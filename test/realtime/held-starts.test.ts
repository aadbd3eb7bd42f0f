/** Held copies of a scheduled start, for clients that apply a PLAYBACK_STATE on arrival. */
import type { ServerMessage } from "@streamit/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HeldStarts } from "../../src/realtime/held-starts.js";
import type { LiveRoom } from "../../src/realtime/live-room.js";

/** The little of a live room HeldStarts reads: who is here and whether they hold starts themselves. */
const roomWith = (members: { id: string; scheduledStarts: boolean }[]) =>
  ({
    closed: false,
    members: new Map(members.map((m) => [m.id, { connection: m }])),
  }) as unknown as LiveRoom;

describe("HeldStarts", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends the scheduling client its copy at once with effective_at, the legacy one at the moment without", () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const sent: { message: ServerMessage; except?: readonly string[] }[] = [];
    const live = roomWith([
      { id: "sdk", scheduledStarts: true },
      { id: "legacy", scheduledStarts: false },
    ]);
    const playback = { is_playing: true, time: 7, version: 1, rate: 1, server_time: 1_000_300 };
    void new HeldStarts().send(live, playback, async (message, except) => void sent.push({ message, except }), "playback:1");
    expect(sent).toEqual([{ message: { type: "PLAYBACK_STATE", ...playback, effective_at: 1_000_300 }, except: ["legacy"] }]);
    vi.advanceTimersByTime(300);
    expect(sent[1]).toEqual({ message: { type: "PLAYBACK_STATE", ...playback }, except: ["sdk"] });
  });

  it("a held copy never names its moment, even when its timer fires before the wall clock gets there", () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const sent: ServerMessage[] = [];
    const live = roomWith([{ id: "legacy", scheduledStarts: false }]);
    const playback = { is_playing: true, time: 7, version: 1, rate: 1, server_time: 1_000_300 };
    void new HeldStarts().send(live, playback, async (message) => void sent.push(message), "playback:1");
    expect(sent).toEqual([{ type: "PLAYBACK_STATE", ...playback, effective_at: 1_000_300 }]);
    // The timer runs on the loop's cached clock: Date.now() can still be a little short of server_time.
    vi.setSystemTime(1_000_000 - 5);
    vi.advanceTimersByTime(300);
    expect(Date.now()).toBeLessThan(playback.server_time);
    expect(sent[1]).toEqual({ type: "PLAYBACK_STATE", ...playback });
  });
});
