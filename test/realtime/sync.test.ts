/**
 * Sync telemetry: SYNC_REPORT validation, drift and corrections, the host's ROOM_SYNC (and
 * nobody else's), the Prometheus series, and the host seeing viewers of another instance.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { percentile, reportDrift, SYNC, summarizeSync } from "../../src/sync/telemetry.js";
import { backend, secondInstance, startApp, type TestApp } from "../helpers/app.js";
import { type Message, rawClient, sioClient, type TestClient, transports } from "../helpers/clients.js";
import { guest, party, type Transport } from "../helpers/party.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ SYNC_SUMMARY_SECONDS: "0.2" });
});
afterAll(() => t?.stop());

const report = (position: number, buffering = false, rtt_ms = 0) => ({ type: "SYNC_REPORT", position, rtt_ms, buffering });

/** A room with its host and two viewers, "Slow" and "Buffy", all over `connect`; the viewers at `viewersAt` (default this instance). */
const hostSlowBuffy = (connect: Transport, viewersAt?: string) =>
  party(t, { transport: connect, members: { slow: guest("Slow", { baseUrl: viewersAt }), buffy: guest("Buffy", { baseUrl: viewersAt }) } });

/** A host command, once its PLAYBACK_STATE is back (the room's state is then in place). */
async function command(client: TestClient, type: "PLAY" | "PAUSE", time: number): Promise<void> {
  client.send({ type, time });
  let state: Awaited<ReturnType<typeof client.waitFor>>;
  do state = await client.waitFor("PLAYBACK_STATE");
  while (state.time !== time || state.is_playing !== (type === "PLAY"));
}

/** The next ROOM_SYNC that satisfies `match`. */
async function roomSync(client: TestClient, match: (m: Message) => boolean, timeoutMs = 5000): Promise<Message> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const message = await client.waitFor("ROOM_SYNC", Math.max(1, deadline - Date.now()));
    if (match(message)) return message;
  }
}

type ViewerRow = { user_id: string; display_name: string; drift: number; rtt_ms: number; buffering: boolean; behind: boolean };
const viewerOf = (sync: Message, userId: string) => (sync.viewers as ViewerRow[]).find((v) => v.user_id === userId);
const closeAll = (...clients: TestClient[]) => Promise.all(clients.map((c) => c.close()));
const metricsText = async (baseUrl = t.baseUrl) => (await fetch(`${baseUrl}/metrics`)).text();
/** The value of one series (every label given must be on it), or undefined. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("sync arithmetic", () => {
  const playing = { is_playing: true, time: 100, version: 1, server_time: 1_000_000, rate: 1 };

  it("drift is the reported position minus the room's position half a round trip ago; negative is behind", () => {
    expect(reportDrift(playing, 110, 0, 1_010_000)).toBe(0);
    expect(reportDrift(playing, 107, 0, 1_010_000)).toBe(-3);
    // Taken 1 s ago (2 s round trip): the room was at 109 then.
    expect(reportDrift(playing, 109, 2000, 1_010_000)).toBe(0);
    expect(reportDrift({ ...playing, is_playing: false }, 104.5, 500, 1_010_000)).toBe(4.5);
  });

  it("percentiles are nearest-rank over |drift|; the summary keeps fresh reports of online users, furthest off first", () => {
    expect(percentile([], 0.5)).toBe(0);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.95)).toBe(4);
    const now = 5_000_000;
    const at = now - 1000;
    const records = new Map([
      ["a", { drift: -3, rttMs: 10, buffering: false, at, displayName: "A" }],
      ["b", { drift: 0.5, rttMs: 20, buffering: true, at, displayName: "B" }],
      ["c", { drift: -9, rttMs: 30, buffering: false, at: now - SYNC.freshMs - 1, displayName: "stale" }],
      ["d", { drift: 8, rttMs: 30, buffering: true, at, displayName: "gone" }],
    ]);
    const summary = summarizeSync(records, 7, new Set(["a", "b", "c"]), now, 2);
    expect(summary).toEqual({
      type: "ROOM_SYNC",
      reporting: 2,
      drift_p50: 0.5,
      drift_p95: 3,
      corrections: 7,
      buffering: 1,
      viewers: [
        { user_id: "a", display_name: "A", drift: -3, rtt_ms: 10, buffering: false, behind: true },
        { user_id: "b", display_name: "B", drift: 0.5, rtt_ms: 20, buffering: true, behind: false },
      ],
      server_time: now,
    });
    expect(summarizeSync(records, 0, new Set(["c"]), now, 2), "nothing fresh from anyone online").toBeUndefined();
  });
});

describe.each(transports)("SYNC_REPORT over %s", (name, connect) => {
  it("refuses bad reports with VALIDATION_FAILED naming the field", async () => {
    const { room, slowClient } = await hostSlowBuffy(connect);
    const bad: [Record<string, unknown>, string][] = [
      [{ position: -1, rtt_ms: 0, buffering: false }, "position"],
      [{ position: 1e7 + 1, rtt_ms: 0, buffering: false }, "position"],
      [{ position: "10", rtt_ms: 0, buffering: false }, "position"],
      [{ position: 10, rtt_ms: 60_001, buffering: false }, "rtt_ms"],
      [{ position: 10, rtt_ms: -5, buffering: false }, "rtt_ms"],
      [{ position: 10, rtt_ms: 5, buffering: "yes" }, "buffering"],
      [{ position: 10, rtt_ms: 5 }, "buffering"],
    ];
    for (const [payload, field] of bad) {
      slowClient.send({ type: "SYNC_REPORT", ...payload });
      const error = await slowClient.waitFor("ERROR");
      expect(error.code, JSON.stringify(payload)).toBe("VALIDATION_FAILED");
      expect(error.message, JSON.stringify(payload)).toMatch(new RegExp(`^${field}: `));
    }
    expect((await t.app.realtime.state.syncRecords.read(room.room_id)).records.size).toBe(0);
  });

  it("paused: drift is signed and nobody is corrected; the host (every tab) gets ROOM_SYNC, viewers never", async () => {
    const { host, room, slow, buffy, hostClient, slowClient, buffyClient } = await hostSlowBuffy(connect);
    const other = name === "ws" ? sioClient : rawClient;
    const hostTab = other(t.baseUrl, room.code, host.token);
    await hostTab.drainJoin();
    await command(hostClient, "PAUSE", 100);
    slowClient.send(report(97));
    buffyClient.send(report(104, true, 80));
    const sync = await roomSync(hostClient, (m) => m.reporting === 2);
    expect(sync).toMatchObject({ drift_p50: 3, drift_p95: 4, corrections: 0, buffering: 1 });
    expect(sync.viewers).toEqual([
      { user_id: buffy.id, display_name: "Buffy", drift: 4, rtt_ms: 80, buffering: true, behind: false },
      { user_id: slow.id, display_name: "Slow", drift: -3, rtt_ms: 0, buffering: false, behind: true },
    ]);
    expect(Math.abs(sync.server_time - Date.now())).toBeLessThan(5000);
    expect(await roomSync(hostTab, (m) => m.reporting === 2)).toMatchObject({ drift_p50: 3, drift_p95: 4 });
    // Several summary rounds later, still nothing for the viewers, and no correction while paused.
    await roomSync(hostClient, () => true);
    await roomSync(hostClient, () => true);
    for (const viewer of [slowClient, buffyClient]) {
      expect(viewer.received.filter((m) => m.type === "ROOM_SYNC" || m.type === "SYNC_CORRECTION")).toEqual([]);
    }
  });

  it("playing: a viewer behind is corrected and counted; a buffering one is not corrected; leavers drop out", async () => {
    const { room, slow, buffy, hostClient, slowClient, buffyClient } = await hostSlowBuffy(connect);
    await command(hostClient, "PLAY", 100);
    slowClient.send(report(90));
    const correction = await slowClient.waitFor("SYNC_CORRECTION");
    expect(correction).toMatchObject({ is_playing: true, version: 1, rate: 1 });
    expect(correction.time).toBeGreaterThanOrEqual(100);
    buffyClient.send(report(50, true));
    const sync = await roomSync(hostClient, (m) => m.reporting === 2);
    expect(sync).toMatchObject({ corrections: 1, buffering: 1 });
    const slowRow = viewerOf(sync, slow.id)!;
    expect(slowRow.drift).toBeLessThan(-10 + 0.001);
    expect(slowRow.drift).toBeGreaterThan(-15);
    expect(slowRow).toMatchObject({ behind: true, buffering: false });
    expect(viewerOf(sync, buffy.id)).toMatchObject({ behind: true, buffering: true });
    expect(sync.drift_p95).toBeGreaterThan(50);
    expect(buffyClient.received.some((m) => m.type === "SYNC_CORRECTION")).toBe(false);
    const stored = await t.app.realtime.state.syncRecords.read(room.room_id);
    expect(stored.corrections).toBe(1);
    await buffyClient.close();
    expect(await roomSync(hostClient, (m) => m.reporting === 1)).toMatchObject({
      buffering: 0,
      viewers: [expect.objectContaining({ user_id: slow.id })],
    });
  });
});

describe("acks and throttling (Socket.IO acks)", () => {
  it("acks {drift, corrected}; a second report within a second is acked as ignored and not recorded", async () => {
    const { room, slow, hostClient, slowClient } = await hostSlowBuffy("socket.io");
    const sio = slowClient as ReturnType<typeof sioClient>;
    await command(hostClient, "PAUSE", 30);
    expect(await sio.emitAck("SYNC_REPORT", { position: 28.5, rtt_ms: 12, buffering: false })).toEqual({
      ok: true,
      drift: -1.5,
      corrected: false,
    });
    expect(await sio.emitAck("SYNC_REPORT", { position: 0, rtt_ms: 12, buffering: false })).toEqual({ ok: true, ignored: true });
    expect((await t.app.realtime.state.syncRecords.read(room.room_id)).records.get(slow.id)).toMatchObject({ drift: -1.5, rttMs: 12 });
  });

  it("a host alone, or with no fresh reports, gets no ROOM_SYNC", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const hostClient = rawClient(t.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    await hostClient.expectNone(700, "ROOM_SYNC");
  });
});

describe("co-hosts", () => {
  it("a co-host who may moderate gets ROOM_SYNC too; once the room takes that away, no more", async () => {
    const { host, room, slowClient, hostClient } = await hostSlowBuffy("ws");
    const co = await t.api.register();
    await t.api.join(co.token, room.code);
    expect(
      (await t.api.post("/api/rooms/cohosts/", { room_id: room.room_id, user_id: co.id, cohost: true }, { token: host.token })).status,
    ).toBe(200);
    const coClient = sioClient(t.baseUrl, room.code, co.token);
    await coClient.drainJoin();
    slowClient.send(report(0));
    expect(await roomSync(coClient, (m) => m.reporting >= 1)).toMatchObject({ type: "ROOM_SYNC" });

    await t.api.post("/api/rooms/host-policy/", { room_id: room.room_id, cohosts_moderate: false }, { token: host.token });
    await coClient.waitFor("COHOSTS_CHANGED");
    // A summary already on its way may still arrive; after two more of the host's, none may.
    await roomSync(hostClient, () => true);
    await roomSync(hostClient, () => true);
    const seen = coClient.received.filter((m) => m.type === "ROOM_SYNC").length;
    await roomSync(hostClient, () => true);
    await roomSync(hostClient, () => true);
    expect(coClient.received.filter((m) => m.type === "ROOM_SYNC").length).toBe(seen);
  });
});

describe("Prometheus", () => {
  it("exports the drift histogram, the correction counter and the room's gauges, which go with the room", async () => {
    const { room, hostClient, slowClient, buffyClient } = await hostSlowBuffy("ws");
    const before = metric(await metricsText(), "streamit_sync_corrections_total") ?? 0;
    const observed = metric(await metricsText(), "streamit_sync_drift_seconds_count") ?? 0;
    await command(hostClient, "PLAY", 10);
    slowClient.send(report(500));
    await slowClient.waitFor("SYNC_CORRECTION");
    buffyClient.send(report(0, true));
    await roomSync(hostClient, (m) => m.reporting === 2);
    const text = await metricsText();
    expect(metric(text, "streamit_sync_corrections_total")).toBe(before + 1);
    expect(metric(text, "streamit_sync_drift_seconds_count")).toBe(observed + 2);
    expect(metric(text, "streamit_sync_drift_seconds_bucket", { le: "60" })).toBeGreaterThanOrEqual(1);
    expect(metric(text, "streamit_sync_room_drift_seconds", { room: room.room_id, quantile: "0.95" })).toBeGreaterThan(480);
    expect(metric(text, "streamit_sync_room_drift_seconds", { room: room.room_id, quantile: "0.5" })).toBeGreaterThan(9);
    expect(metric(text, "streamit_sync_room_buffering_viewers", { room: room.room_id })).toBe(1);
    expect(text).not.toContain(room.code);
    await closeAll(hostClient, slowClient, buffyClient);
    await vi.waitFor(async () => expect(await metricsText()).not.toContain(room.room_id), { timeout: 5000, interval: 100 });
  });
});

describe.runIf(backend === "cluster")("across instances (same PostgreSQL and Redis)", () => {
  it("the host on one instance sees, and is the only one to see, a viewer corrected on the other", async () => {
    const second = await secondInstance(t);
    try {
      const otherUrl = second.baseUrl;
      const { room, slow, buffy, hostClient, slowClient, buffyClient } = await hostSlowBuffy(
        (b, c, tok) => (b === t.baseUrl ? sioClient(b, c, tok) : rawClient(b, c, tok)),
        otherUrl,
      );
      await command(hostClient, "PLAY", 100);
      await slowClient.waitFor("PLAYBACK_STATE");
      slowClient.send(report(80));
      await slowClient.waitFor("SYNC_CORRECTION");
      buffyClient.send(report(99, true));
      const sync = await roomSync(hostClient, (m) => m.reporting === 2);
      expect(sync).toMatchObject({ corrections: 1, buffering: 1 });
      expect(viewerOf(sync, slow.id)).toMatchObject({ display_name: "Slow", behind: true, buffering: false });
      expect(viewerOf(sync, buffy.id)).toMatchObject({ display_name: "Buffy", buffering: true });
      // The correction was counted where it was made; the room's series live where the host is.
      const here = await metricsText();
      const there = await metricsText(otherUrl);
      expect(metric(there, "streamit_sync_corrections_total")).toBe(1);
      expect(metric(here, "streamit_sync_room_buffering_viewers", { room: room.room_id })).toBe(1);
      expect(there).not.toContain(room.room_id);
      for (const viewer of [slowClient, buffyClient]) expect(viewer.received.some((m) => m.type === "ROOM_SYNC")).toBe(false);
      await closeAll(hostClient, slowClient, buffyClient);
    } finally {
      await second.close();
    }
  });
});
