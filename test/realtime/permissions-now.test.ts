/**
 * Permission changes take effect when their call answers, on every instance: a command is judged
 * by the roles in force when it is applied (the database), not by an instance's copy that the
 * `room.roles_changed` / `room.host_changed` event has not reached yet. In cluster-backends the
 * REST calls go to instance A and the co-host's sockets sit on instance B, whose room events are
 * delivered LAG_MS late (as a busy Redis or event loop would: on a quiet loopback the event
 * usually beats the client's next frame, which hid the bug); embedded: one instance.
 * Each part runs in a loop and lists every round that went wrong.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend, secondInstance, startApp, type TestApp } from "../helpers/app.js";
import { type Message, rawClient, sioClient, type TestClient } from "../helpers/clients.js";
import { party, registered } from "../helpers/party.js";

const ROUNDS = 8;
/** How late instance B gets room events (cluster-backends). */
const LAG_MS = 150;

let t: TestApp;
let other: Awaited<ReturnType<typeof secondInstance>> | undefined;
beforeAll(async () => {
  t = await startApp();
  if (backend === "cluster") {
    other = await secondInstance(t);
    lagEvents(other.app.events, LAG_MS);
  }
});
afterAll(async () => {
  await other?.close();
  await t?.stop();
});

/** Delays, in order, the delivery of every room event to the instance's own listeners. */
function lagEvents(bus: unknown, ms: number): void {
  const local = (bus as { local?: { publish(event: unknown): void } }).local;
  if (!local) throw new Error("expected the Redis room event bus in cluster mode");
  const deliver = local.publish.bind(local);
  local.publish = (event) => void setTimeout(() => deliver(event), ms);
}

/** Where the co-host's sockets connect: the other instance in cluster mode. */
const far = () => other?.baseUrl ?? t.baseUrl;

const setCohost = (token: string, roomId: string, userId: string, cohost: boolean) =>
  t.api.post("/api/rooms/cohosts/", { room_id: roomId, user_id: userId, cohost }, { token });
const setPolicy = (token: string, roomId: string, policy: Record<string, unknown>) =>
  t.api.post("/api/rooms/host-policy/", { room_id: roomId, ...policy }, { token });

let probes = 0;
/**
 * Sends a command over a raw socket and reads up to the answer of a TIME_SYNC probe sent after
 * it (frames of a connection are handled in order): the command's ERROR code, or undefined, with
 * the messages read.
 */
async function rawCommand(client: TestClient, message: Record<string, unknown>): Promise<{ error?: string; seen: Message[] }> {
  const probe = -(probes += 1) - 1_000_000;
  client.send(message);
  client.send({ type: "TIME_SYNC", client_ts: probe });
  const seen: Message[] = [];
  for (;;) {
    const m = await client.next(undefined, 5000);
    if (m.type === "TIME_SYNC" && m.client_ts === probe) break;
    seen.push(m);
  }
  const error = seen.find((m) => m.type === "ERROR");
  return error ? { error: error.code, seen } : { seen };
}

/** True once `client` has (or had, in `seen`) a PLAYBACK_STATE at `time`. */
async function seesPlayback(client: TestClient, seen: Message[], time: number, waitMs = 2000): Promise<boolean> {
  if (seen.some((m) => m.type === "PLAYBACK_STATE" && m.time === time)) return true;
  const deadline = Date.now() + waitMs;
  try {
    while (Date.now() < deadline) {
      const m = await client.waitFor("PLAYBACK_STATE", deadline - Date.now());
      if (m.time === time) return true;
    }
  } catch {
    // timed out
  }
  return false;
}

/** A fixed wait on purpose: the chat rate limit is wall-clock, no event says a slot is free. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Between accepted chat messages of one user: well under the limit of 5 per 3 s. */
const CHAT_SPACING_MS = 800;

const ackOutcome = (ack: any): string => (ack?.ok ? "ok" : `ERROR ${ack?.error?.code}`);

/** A live room: host and viewer on A; the co-host (Socket.IO and raw) on B, named co-host. */
async function cohostOnB() {
  const { host, room, cohost, viewer, hostClient, viewerClient } = await party(t, {
    transport: "ws",
    members: { cohost: registered({ transport: null }), viewer: registered() },
  });
  const sio = sioClient(far(), room.code, cohost.token);
  await sio.drainJoin();
  const raw = rawClient(far(), room.code, cohost.token);
  await raw.drainJoin();
  expect((await setCohost(host.token, room.room_id, cohost.id, true)).status).toBe(200);
  // Start from an instance B that knows the co-host.
  await sio.waitFor("COHOSTS_CHANGED");
  await raw.waitFor("COHOSTS_CHANGED");
  return { host, room, cohost, viewer, hostClient, viewerClient, sio, raw };
}

describe("permission changes take effect when their call answers", () => {
  it(`host-policy cohosts_control_playback: the co-host's SEEK on the other instance follows at once (${ROUNDS} rounds)`, async () => {
    const { host, room, sio, raw } = await cohostOnB();
    const wrong: string[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const problems: string[] = [];
      const off = await setPolicy(host.token, room.room_id, { cohosts_control_playback: false });
      expect(off.status).toBe(200);
      const sioOff = await sio.emitAck("SEEK", { time: 1000 + round });
      if (ackOutcome(sioOff) !== "ERROR PERMISSION_DENIED") problems.push(`revoked: sio SEEK ${ackOutcome(sioOff)}`);
      const rawOff = await rawCommand(raw, { type: "SEEK", time: 2000 + round });
      if (rawOff.error !== "PERMISSION_DENIED") problems.push(`revoked: raw SEEK ${rawOff.error ?? "applied"}`);

      const on = await setPolicy(host.token, room.room_id, { cohosts_control_playback: true });
      expect(on.status).toBe(200);
      const sioOn = await sio.emitAck("SEEK", { time: 3000 + round });
      if (!sioOn?.ok) problems.push(`granted: sio SEEK ${ackOutcome(sioOn)}`);
      const rawTime = 4000 + round;
      const rawOn = await rawCommand(raw, { type: "SEEK", time: rawTime });
      if (rawOn.error) problems.push(`granted: raw SEEK ERROR ${rawOn.error}`);
      else if (!(await seesPlayback(raw, rawOn.seen, rawTime))) problems.push("granted: raw SEEK sent no PLAYBACK_STATE");
      if (problems.length) wrong.push(`round ${round}: ${problems.join("; ")}`);
    }
    // Nothing refused moved the play head: the timeline holds only the accepted seeks.
    const seeks = await t.app.database.db
      .selectFrom("room_events")
      .select(sql<number>`(data->>'to')::float8`.as("to"))
      .where("room_id", "=", room.room_id)
      .where("event", "=", "playback.seek")
      .execute();
    const refusedApplied = seeks.map((s) => Number(s.to)).filter((to) => to < 3000);
    if (refusedApplied.length) wrong.push(`refused seeks applied: ${refusedApplied.join(", ")}`);
    expect(wrong, `${wrong.length} problem(s) over ${ROUNDS} rounds`).toEqual([]);
  }, 90_000);

  it(`cohosts/ {cohost}: the former co-host's MUTE_USER on the other instance is refused at once, a new one's accepted (${ROUNDS} rounds)`, async () => {
    const { host, room, cohost, viewer, sio, raw } = await cohostOnB();
    const wrong: string[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const problems: string[] = [];
      const off = await setCohost(host.token, room.room_id, cohost.id, false);
      expect(off.status).toBe(200);
      const sioOff = await sio.emitAck("MUTE_USER", { user_id: viewer.id, reason: `off sio ${round}` });
      if (ackOutcome(sioOff) !== "ERROR PERMISSION_DENIED") problems.push(`revoked: sio MUTE_USER ${ackOutcome(sioOff)}`);
      const rawOff = await rawCommand(raw, { type: "UNMUTE_USER", user_id: viewer.id });
      if (rawOff.error !== "PERMISSION_DENIED") problems.push(`revoked: raw UNMUTE_USER ${rawOff.error ?? "applied"}`);

      const on = await setCohost(host.token, room.room_id, cohost.id, true);
      expect(on.status).toBe(200);
      const sioOn = await sio.emitAck("MUTE_USER", { user_id: viewer.id, reason: `on sio ${round}` });
      if (!sioOn?.ok) problems.push(`granted: sio MUTE_USER ${ackOutcome(sioOn)}`);
      const rawOn = await rawCommand(raw, { type: "MUTE_USER", user_id: viewer.id, reason: `on raw ${round}` });
      if (rawOn.error) problems.push(`granted: raw MUTE_USER ERROR ${rawOn.error}`);
      if (problems.length) wrong.push(`round ${round}: ${problems.join("; ")}`);
    }
    // The timeline holds no mute or unmute by the co-host while they were not one.
    const byCohost = await t.app.database.db
      .selectFrom("room_events")
      .select(["event", "reason"])
      .where("room_id", "=", room.room_id)
      .where("actor_id", "=", cohost.id)
      .where("event", "in", ["moderation.muted", "moderation.unmuted"])
      .execute();
    const stale = byCohost.filter((e) => e.event === "moderation.unmuted" || e.reason?.startsWith("off"));
    if (stale.length) wrong.push(`refused moderation applied: ${stale.length}`);
    expect(wrong, `${wrong.length} problem(s) over ${ROUNDS} rounds`).toEqual([]);
  }, 90_000);

  it(`host-policy cohosts_moderate: slow mode spares the co-host on the other instance exactly while it is on (${ROUNDS} rounds)`, async () => {
    const { host, room, sio } = await cohostOnB();
    expect((await t.api.post("/api/rooms/slow-mode/", { room_id: room.room_id, seconds: 60 }, { token: host.token })).status).toBe(200);
    await sio.waitFor("CHAT_STATUS");
    // One message as a plain viewer starts the co-host's slow-mode period.
    expect((await setPolicy(host.token, room.room_id, { cohosts_moderate: false })).status).toBe(200);
    await sio.waitFor("COHOSTS_CHANGED");
    expect(await sio.emitAck("CHAT_MESSAGE", { message: "warm-up" })).toMatchObject({ ok: true });
    await pause(CHAT_SPACING_MS);
    expect((await setPolicy(host.token, room.room_id, { cohosts_moderate: true })).status).toBe(200);
    await sio.waitFor("COHOSTS_CHANGED");
    const wrong: string[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const problems: string[] = [];
      expect((await setPolicy(host.token, room.room_id, { cohosts_moderate: false })).status).toBe(200);
      const off = await sio.emitAck("CHAT_MESSAGE", { message: `off ${round}` });
      if (ackOutcome(off) !== "ERROR SLOW_MODE") problems.push(`revoked: chat ${ackOutcome(off)}`);
      expect((await setPolicy(host.token, room.room_id, { cohosts_moderate: true })).status).toBe(200);
      const on = await sio.emitAck("CHAT_MESSAGE", { message: `on ${round}` });
      if (!on?.ok) problems.push(`granted: chat ${ackOutcome(on)}`);
      if (problems.length) wrong.push(`round ${round}: ${problems.join("; ")}`);
      // Under the chat rate limit (5 messages per 3 s): one accepted message per round.
      await pause(CHAT_SPACING_MS);
    }
    expect(wrong, `${wrong.length} problem(s) over ${ROUNDS} rounds`).toEqual([]);
  }, 90_000);

  it("succession and reclaim: the new host drives at once, the one who lost the room is refused at once (4 rounds)", async () => {
    const { host, room, heir } = await party(t, { members: { heir: registered() } });
    expect((await setPolicy(host.token, room.room_id, { succession: "ANYONE" })).status).toBe(200);
    // The heir sits on B; the host (and their reclaiming tab) on A, where the lifecycle runs.
    const heirClient = sioClient(far(), room.code, heir.token);
    await heirClient.drainJoin();
    let hostClient = sioClient(t.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const wrong: string[] = [];
    for (let round = 0; round < 4; round += 1) {
      const problems: string[] = [];
      await hostClient.close();
      await heirClient.waitFor("HOST_DISCONNECTED");
      await t.app.database.db
        .updateTable("rooms")
        .set({ grace_ends_at: sql`now() - interval '1 second'` })
        .where("id", "=", room.room_id)
        .execute();
      expect(await t.app.realtime.lifecycle.expire(room.room_id)).toBe(false);
      const row = await t.app.database.db.selectFrom("rooms").select("host_id").where("id", "=", room.room_id).executeTakeFirstOrThrow();
      expect(row.host_id).toBe(heir.id);
      const heirSeek = await heirClient.emitAck("SEEK", { time: 5000 + round });
      if (!heirSeek?.ok) problems.push(`succeeded: heir SEEK ${ackOutcome(heirSeek)}`);
      // Every instance knows of the succession before the reclaim (so B's copy is the stale one).
      await heirClient.waitFor("HOST_CHANGED");

      hostClient = sioClient(t.baseUrl, room.code, host.token);
      await hostClient.drainJoin();
      const reclaimed = await hostClient.emitAck("RECLAIM_HOST", {});
      expect(reclaimed).toEqual({ ok: true });
      const lostSeek = await heirClient.emitAck("SEEK", { time: 6000 + round });
      if (ackOutcome(lostSeek) !== "ERROR PERMISSION_DENIED") problems.push(`reclaimed: heir SEEK ${ackOutcome(lostSeek)}`);
      const lostMute = await heirClient.emitAck("MUTE_USER", { user_id: host.id });
      if (ackOutcome(lostMute) !== "ERROR PERMISSION_DENIED") problems.push(`reclaimed: heir MUTE_USER ${ackOutcome(lostMute)}`);
      const backSeek = await hostClient.emitAck("SEEK", { time: 7000 + round });
      if (!backSeek?.ok) problems.push(`reclaimed: host SEEK ${ackOutcome(backSeek)}`);
      if (problems.length) wrong.push(`round ${round}: ${problems.join("; ")}`);
      // The next round starts with every instance knowing the host is back.
      await hostClient.waitFor("HOST_CHANGED");
      await heirClient.waitFor("HOST_CHANGED");
    }
    expect(wrong, `${wrong.length} problem(s) over 4 rounds`).toEqual([]);
  }, 90_000);
});
