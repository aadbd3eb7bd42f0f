/**
 * Scheduled starts and SET_RATE. A PLAY (or a SEEK while playing) takes effect START_LEAD ms in
 * the future: clients that connected with `schedule=1` get it at once with `effective_at` and
 * hold it; every other client gets its copy at that moment. SET_RATE re-anchors the play head.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentPosition, type PlaybackSnapshot } from "../../src/playback/snapshot.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient } from "../helpers/clients.js";
import { guest, party } from "../helpers/party.js";

const LEAD_MS = 600;
let t: TestApp;
beforeAll(async () => {
  // The floor is the lead here: no viewer reports round trips in these tests.
  t = await startApp({ START_LEAD_MIN_MS: String(LEAD_MS), START_LEAD_MAX_MS: "1500" });
});
afterAll(() => t?.stop());

/** The host over Socket.IO (acks), a legacy raw viewer, and schedule-aware clients on both transports. */
async function room() {
  const p = await party(t, {
    host: { transport: "socket.io" },
    members: {
      legacy: guest("Legacy", { transport: "ws" }),
      aware: guest("Aware", { transport: null }),
      sio: guest("Sio", { transport: null }),
    },
  });
  const awareClient = rawClient(t.baseUrl, p.room.code, p.aware.token, {
    query: `?token=${encodeURIComponent(p.aware.token)}&schedule=1`,
  });
  const sioAware = sioClient(t.baseUrl, p.room.code, p.sio.token, { auth: { token: p.sio.token, schedule: true } });
  await Promise.all([awareClient.drainJoin(), sioAware.drainJoin()]);
  return { ...p, awareClient, sioAware };
}

describe("scheduled starts", () => {
  it("a PLAY reaches schedule-aware clients at once with effective_at, and the others at that moment", async () => {
    const { hostClient, legacyClient, awareClient, sioAware } = await room();
    const sent = Date.now();
    expect(await hostClient.emitAck("PLAY", { time: 10 })).toMatchObject({ ok: true });
    const early = await awareClient.waitFor("PLAYBACK_STATE");
    const arrivedEarly = Date.now();
    expect(early).toMatchObject({ is_playing: true, time: 10, rate: 1 });
    expect(early.effective_at).toBe(early.server_time);
    expect(early.effective_at - sent).toBeGreaterThanOrEqual(LEAD_MS - 50);
    expect(early.effective_at - sent).toBeLessThan(LEAD_MS + 1000);
    expect(arrivedEarly).toBeLessThan(early.effective_at);
    expect(await sioAware.waitFor("PLAYBACK_STATE")).toEqual(early);

    const late = await legacyClient.waitFor("PLAYBACK_STATE");
    // Held until the effective time (timers may fire a millisecond early at most).
    expect(Date.now()).toBeGreaterThanOrEqual(early.effective_at - 2);
    expect(late).toMatchObject({ is_playing: true, time: 10, version: early.version, server_time: early.server_time });
    expect(late.effective_at).toBeUndefined();
    // Aware clients get no second copy.
    await awareClient.expectNone(100, "PLAYBACK_STATE");
  });

  it("the position holds at `time` until the effective moment, then advances", () => {
    const state = { is_playing: true, time: 10, version: 1, rate: 2, server_time: 1_000_000 };
    expect(currentPosition(state, 999_000)).toBe(10);
    expect(currentPosition(state, 1_001_000)).toBe(12);
  });

  it("a PAUSE during the lead applies at once and cancels the legacy client's held copy", async () => {
    const { hostClient, legacyClient, awareClient } = await room();
    await hostClient.emitAck("PLAY", { time: 5 });
    const play = await awareClient.waitFor("PLAYBACK_STATE");
    expect(await hostClient.emitAck("PAUSE", { time: 5 })).toMatchObject({ ok: true });
    const pause = await legacyClient.waitFor("PLAYBACK_STATE");
    expect(pause).toMatchObject({ is_playing: false, time: 5, version: play.version + 1 });
    expect(pause.effective_at).toBeUndefined();
    // Past the PLAY's effective time: the held PLAY never arrives.
    await legacyClient.expectNone(Math.max(0, play.effective_at - Date.now()) + 200, "PLAYBACK_STATE");
  });

  it("a SEEK while paused is at once; a joiner during the lead gets the pending start", async () => {
    const { room: r, hostClient, legacyClient, awareClient } = await room();
    hostClient.send({ type: "SEEK", time: 30 });
    const seek = await legacyClient.waitFor("PLAYBACK_STATE");
    expect(seek).toMatchObject({ is_playing: false, time: 30 });
    expect(seek.effective_at).toBeUndefined();
    await awareClient.waitFor("PLAYBACK_STATE");
    // The joiner's account and membership exist before the PLAY, so it connects within the lead.
    const late = await t.api.guest("Late");
    expect((await t.api.join(late.token, r.code)).status).toBe(200);
    await hostClient.emitAck("PLAY", { time: 30 });
    const play = await awareClient.waitFor("PLAYBACK_STATE");
    const joiner = sioClient(t.baseUrl, r.code, late.token, { auth: { token: late.token, schedule: true } });
    const joined = (await joiner.drainJoin()).find((m) => m.type === "PLAYBACK_STATE");
    if (Date.now() < play.effective_at) {
      // Still pending: the joiner gets the start's own moment, not a re-anchored copy that starts early.
      expect(joined).toMatchObject({ is_playing: true, time: 30, server_time: play.effective_at, effective_at: play.effective_at });
    } else {
      expect(joined).toMatchObject({ is_playing: true, version: play.version });
    }
  });

  it("START_LEAD_MAX_MS=0 applies every change on arrival", async () => {
    const at0 = await startApp({ START_LEAD_MAX_MS: "0" });
    try {
      const { hostClient, viewerClient } = await party(at0, {
        host: { transport: "socket.io" },
        members: { viewer: guest("V", { transport: "ws" }) },
      });
      const before = Date.now();
      await hostClient.emitAck("PLAY", { time: 1 });
      const state = await viewerClient.waitFor("PLAYBACK_STATE");
      expect(state.effective_at).toBeUndefined();
      expect(state.server_time).toBeLessThanOrEqual(Date.now());
      expect(state.server_time).toBeGreaterThanOrEqual(before - 1000);
    } finally {
      await at0.stop();
    }
  });
});

describe("SET_RATE", () => {
  it("re-anchors the play head, versions the change, reaches everyone and is in the timeline", async () => {
    const { room: r, host, hostClient, legacyClient } = await room();
    await hostClient.emitAck("PLAY", { time: 0 });
    const play = await legacyClient.waitFor("PLAYBACK_STATE");
    const ack = await hostClient.emitAck("SET_RATE", { rate: 1.5, expected_version: play.version });
    expect(ack).toEqual({ ok: true, version: play.version + 1 });
    const rated = await legacyClient.waitFor("PLAYBACK_STATE");
    expect(rated).toMatchObject({ is_playing: true, rate: 1.5, version: play.version + 1 });
    // Where the old rate had brought the head when the change was made (no jump).
    expect(rated.time).toBeCloseTo(currentPosition(play as unknown as PlaybackSnapshot, rated.server_time), 1);
    const events = await t.api.get(`/api/rooms/${r.code}/events/?type=playback.rate`, { token: host.token });
    expect(events.body.events[0]).toMatchObject({ event: "playback.rate", data: { from: 1, to: 1.5, version: rated.version } });
  });

  it("while playing, a rate change is scheduled like a start: everyone changes rate at the same instant", async () => {
    const { hostClient, legacyClient, awareClient } = await room();
    await hostClient.emitAck("PLAY", { time: 0 });
    const play = await legacyClient.waitFor("PLAYBACK_STATE");
    await awareClient.waitFor("PLAYBACK_STATE");
    const sent = Date.now();
    await hostClient.emitAck("SET_RATE", { rate: 2 });
    const early = await awareClient.waitFor("PLAYBACK_STATE");
    expect(early).toMatchObject({ rate: 2, is_playing: true, version: play.version + 1 });
    expect(early.effective_at).toBe(early.server_time);
    expect(early.effective_at - sent).toBeGreaterThanOrEqual(LEAD_MS - 50);
    // Anchored where rate 1 brings the head by the effective moment: no jump then.
    expect(early.time).toBeCloseTo(currentPosition(play as unknown as PlaybackSnapshot, early.server_time), 1);
    const late = await legacyClient.waitFor("PLAYBACK_STATE");
    expect(Date.now()).toBeGreaterThanOrEqual(early.effective_at - 2);
    expect(late).toMatchObject({ rate: 2, version: early.version, time: early.time });
  });

  it("refuses rates out of 0.25–2, viewers, and stale versions", async () => {
    const { hostClient, legacyClient } = await room();
    for (const rate of [0, 0.2, 2.5, -1, "fast"]) {
      const ack = await hostClient.emitAck("SET_RATE", { rate });
      expect(ack).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED" } });
    }
    expect(await hostClient.emitAck("SET_RATE", { rate: 2, expected_version: 99 })).toMatchObject({
      ok: false,
      error: { code: "STALE_VERSION" },
    });
    legacyClient.send({ type: "SET_RATE", rate: 0.5 });
    expect(await legacyClient.waitFor("ERROR")).toMatchObject({ code: "PERMISSION_DENIED" });
  });

  it("a resent command_id is acked as a duplicate and applied once", async () => {
    const { hostClient } = await room();
    const first = await hostClient.emitAck("SET_RATE", { rate: 0.5, command_id: "r-1" });
    expect(first).toMatchObject({ ok: true });
    expect(await hostClient.emitAck("SET_RATE", { rate: 0.5, command_id: "r-1" })).toMatchObject({
      ok: true,
      duplicate: true,
      version: first.version,
    });
  });
});
