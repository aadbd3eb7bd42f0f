/**
 * The SDK against the real server: joining, the server clock, host commands (command_id,
 * expected_version, refusals), a final refusal that is not retried, a removal, a network loss
 * resumed without a re-join, and SYNC_REPORT telemetry from a synced player.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RoomError } from "../../packages/client/src/index.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { guest, party } from "../helpers/party.js";
import { FakeTime } from "./helpers/fake-time.js";
import { proxyTo, type TcpProxy } from "./helpers/proxy.js";
import { open, recorder } from "./helpers/rooms.js";
import { SimPlayer } from "./helpers/sim-player.js";

let t: TestApp;
let proxy: TcpProxy;
beforeAll(async () => {
  t = await startApp();
  proxy = await proxyTo(t.baseUrl);
});
afterAll(async () => {
  await proxy?.close();
  await t?.stop();
});

/** A host and a guest member with accounts, the room joined over REST, nobody connected yet. */
const room = () => party(t, { members: { viewer: guest("Pal") } });

describe("SDK room", () => {
  it("keeps the roster from delta presence: the snapshot once, then each join and leave", async () => {
    const p = await room();
    const host = open({ url: t.baseUrl, code: p.room.code, token: p.host.token });
    const seen = recorder(host);
    await host.ready;
    await seen.next("roster", (r) => r.complete && r.online === 1);
    expect(host.roster.members.map((m) => [m.id, m.online, m.is_host])).toEqual([
      [p.host.id, true, true],
      [p.viewer.id, false, false],
    ]);
    const viewer = open({ url: t.baseUrl, code: p.room.code, token: p.viewer.token });
    await viewer.ready;
    await seen.next("roster", (r) => r.online === 2);
    expect(host.roster.get(p.viewer.id)).toMatchObject({ display_name: "Pal", online: true });
    // Delta presence: the host's SDK never got a whole roster after the join.
    expect(seen.count("ROOM_PARTICIPANTS")).toBe(1);
    viewer.close();
    await seen.next("roster", (r) => r.online === 1);
    expect(host.roster.get(p.viewer.id)?.online).toBe(false);
  });

  it("joins, syncs its clock with the server, and follows the host's commands", async () => {
    const p = await room();
    const host = open({ url: t.baseUrl, code: p.room.code, token: p.host.token });
    const viewer = open({ url: t.baseUrl, code: p.room.code.toLowerCase(), token: p.viewer.token });
    const seen = recorder(viewer);
    await Promise.all([host.ready, viewer.ready]);
    const [initial] = await seen.next("playback");
    expect(initial).toMatchObject({ is_playing: false, version: expect.any(Number) });

    // Same machine: the true offset is 0, so the estimate must be within its own error bound of it.
    await vi.waitFor(() => expect(viewer.clock.synced).toBe(true), { timeout: 5000 });
    expect(Math.abs(viewer.clock.offset)).toBeLessThanOrEqual(viewer.clock.errorBound + 2);
    expect(viewer.clock.errorBound).toBeLessThan(100);

    const played = await host.play(42);
    expect(played).toEqual({ version: initial.version + 1, duplicate: false });
    const [state] = await seen.next("playback", (s) => s.version === played.version);
    expect(state).toMatchObject({ is_playing: true, time: 42, rate: 1 });
    // A scheduled start: the SDK holds it until its effective moment, then the room plays.
    expect(state.effective_at).toBeGreaterThan(0);
    await vi.waitFor(() => expect(viewer.now()?.playing).toBe(true), { timeout: 3000 });
    const now = viewer.now()!;
    expect(now.position).toBeGreaterThanOrEqual(42);
    expect(now.position).toBeLessThan(43);

    const paused = await host.pause();
    await seen.next("playback", (s) => s.version === paused.version && !s.is_playing);
    expect(viewer.now()?.position).toBeGreaterThanOrEqual(42);
    expect(viewer.stats).toMatchObject({ status: "connected", version: paused.version });
  });

  it("host commands carry a command_id and the version they are based on; refusals are not retried", async () => {
    const p = await room();
    const host = open({ url: t.baseUrl, code: p.room.code, token: p.host.token });
    const viewer = open({ url: t.baseUrl, code: p.room.code, token: p.viewer.token });
    await Promise.all([host.ready, viewer.ready]);
    await vi.waitFor(() => expect(host.playback.known).toBe(true));

    const first = await host.seek(10);
    // A resend of the same command_id is a no-op on the server: what a retry relies on.
    const again = await host.send("SEEK", { time: 99, command_id: "fixed-id-1" });
    const dup = await host.send("SEEK", { time: 99, command_id: "fixed-id-1" });
    expect(again).toMatchObject({ ok: true, version: first.version + 1 });
    expect(dup).toMatchObject({ ok: true, duplicate: true });

    // Based on a stale state: refused, and the current state comes back.
    const stale = await host.send("PLAY", { time: 1, expected_version: first.version - 1 });
    expect(stale).toMatchObject({ ok: false, error: { code: "STALE_VERSION" } });

    const refused = await viewer.play(5).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RoomError);
    expect(refused).toMatchObject({ code: "PERMISSION_DENIED" });
    const rated = await host.setRate(1.5);
    await vi.waitFor(() => expect(viewer.now()).toMatchObject({ rate: 1.5, version: rated.version }));
    await expect(host.setRate(3)).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
  });

  it("a refusal that will not change ends the room: no reconnect", async () => {
    const p = await room();
    const lost = open({ url: t.baseUrl, code: "NOPE00", token: p.viewer.token });
    const seen = recorder(lost);
    await expect(lost.ready).rejects.toMatchObject({ code: "ROOM_NOT_FOUND", closeCode: 4002 });
    expect(lost.status).toBe("closed");
    expect(seen.count("reconnecting")).toBe(0);
    await expect(lost.send("CHAT_MESSAGE", { message: "hi" })).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("a kicked member's room closes with 4011 and does not come back", async () => {
    const p = await room();
    const host = open({ url: t.baseUrl, code: p.room.code, token: p.host.token });
    const viewer = open({ url: t.baseUrl, code: p.room.code, token: p.viewer.token });
    const seen = recorder(viewer);
    await Promise.all([host.ready, viewer.ready]);
    expect(await host.send("KICK_USER", { user_id: p.viewer.id, reason: "test" })).toMatchObject({ ok: true });
    const [closed] = await seen.next("closed");
    expect(closed).toMatchObject({ code: 4011, reason: "Kicked by host: test" });
    expect(viewer.status).toBe("closed");
    expect(seen.count("reconnecting")).toBe(0);
  });

  it("after a network loss it resumes the session: what it missed, once, and no second join", async () => {
    const p = await room();
    const host = open({ url: t.baseUrl, code: p.room.code, token: p.host.token });
    const viewer = open({ url: proxy.url, code: p.room.code, token: p.viewer.token, backoff: { baseMs: 100, capMs: 400 } });
    const seen = recorder(viewer);
    const hostSeen = recorder(host);
    await Promise.all([host.ready, viewer.ready]);
    await seen.next("SESSION");
    await seen.next("CHAT_HISTORY");

    proxy.refuse();
    proxy.cut();
    await seen.next("reconnecting");
    expect(await host.send("CHAT_MESSAGE", { message: "while you were away" })).toMatchObject({ ok: true });
    const seeked = await host.seek(123);
    proxy.accept();

    const [resumed] = await seen.next("RESUMED", undefined, 15_000);
    expect(resumed.missed).toBeGreaterThanOrEqual(2);
    const [chat] = await seen.next("CHAT_MESSAGE", (m) => m.message === "while you were away");
    expect(chat.seq).toBeGreaterThan(resumed.from_seq);
    await seen.next("playback", (s) => s.version === seeked.version);
    await seen.next("SESSION");
    expect(seen.count("CHAT_HISTORY")).toBe(1);
    expect(seen.count("CHAT_MESSAGE")).toBe(1);
    expect(viewer.status).toBe("connected");
    // The host saw no leave: a resumed drop lingers.
    expect(hostSeen.count("USER_LEFT")).toBe(0);
    expect(await viewer.send("CHAT_MESSAGE", { message: "back" })).toMatchObject({ ok: true });
  });

  it("a viewer with a player reports its sync to the server", async () => {
    const p = await room();
    const host = open({ url: t.baseUrl, code: p.room.code, token: p.host.token });
    await host.ready;
    await host.play(0);
    // The player is simulated on its own timeline; only its readings reach the server.
    const player = new SimPlayer(new FakeTime(), { paused: true });
    const viewer = open({ url: t.baseUrl, code: p.room.code, token: p.viewer.token, player, sync: { reportMs: 1100 } });
    await viewer.ready;
    await vi.waitFor(() => expect(viewer.sync!.stats.reports).toBeGreaterThanOrEqual(1), { timeout: 8000, interval: 100 });
    expect(viewer.sync!.stats.serverDrift).toEqual(expect.any(Number));
    expect(player.calls.plays).toBeGreaterThanOrEqual(1);
  });
});
