/**
 * Redis restarted (SIGKILL, no persistence: every key is gone) under clients that stay
 * connected, on both instances and both transports. test/cluster/cluster.test.ts already shows
 * that NEW rooms work after a Redis restart; this is about the rooms that lived through it:
 *  - during the outage chat is refused in bounded time (never acked without a commit);
 *  - afterwards the same sockets still chat across instances (subscriptions restored);
 *  - presence rebuilds: the room is listed again with its viewer count;
 *  - the room lifecycle still works: the host leaving starts grace, seen on both instances;
 *  - limits rebuild: a burst is rate limited again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasRedisServer } from "../helpers/cluster.js";
import { ChaosCluster, eventually, Member, makeRoom, persistedIds, type SentMessage, sleep } from "./harness.js";
import { canRunPrivatePostgres } from "./postgres.js";

/** The bound a refusal should come within (as for a PostgreSQL outage). */
const ANSWER_WITHIN_MS = 8000;
/** Longer than that bound, so that queueing chat until Redis is back shows. */
const REDIS_DOWN_MS = 10_000;

describe.runIf(canRunPrivatePostgres && hasRedisServer)("chaos: Redis restarted under connected rooms", () => {
  let cluster: ChaosCluster;

  beforeAll(async () => {
    cluster = await ChaosCluster.start({ webs: 2, workers: 1 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("rooms that lived through the restart keep working", async (ctx) => {
    ctx.onTestFailed(() => console.log(cluster.logs()));
    const [a, b] = cluster.webs as [(typeof cluster.webs)[0], (typeof cluster.webs)[0]];
    const room = await makeRoom(cluster.api(0), 4);
    const g = room.guests;
    const host = new Member("host raw@A", room.host, room.code, a.baseUrl, "ws");
    const viewers = [
      new Member("v0 raw@B", g[0]!, room.code, b.baseUrl, "ws"),
      new Member("v1 sio@A", g[1]!, room.code, a.baseUrl, "socket.io"),
      new Member("v2 sio@B", g[2]!, room.code, b.baseUrl, "socket.io"),
      new Member("v3 raw@A", g[3]!, room.code, a.baseUrl, "ws"),
    ];
    const members = [host, ...viewers];
    for (const m of members) await m.connect();
    // A mute in force before the restart (v3 raw@A; it does not send in the loop below).
    await host.command("MUTE_USER", { user_id: g[3]!.id });
    await viewers[3]!.client.waitFor("USER_MUTED");
    expect(await viewers[3]!.chat("while muted")).toMatchObject({ outcome: "nack", code: "MUTED" });
    const listed = async () => (await cluster.api(1).get("/api/rooms/public/")).body?.find((r: { code: string }) => r.code === room.code);
    expect(await listed()).toMatchObject({ viewers: 5 });

    // Chat through the outage, one sender per instance and transport.
    const sent: SentMessage[] = [];
    let sending = true;
    const loops = viewers.slice(0, 3).map(async (sender, i) => {
      await sleep(i * 200);
      for (let n = 0; sending; n += 1) {
        const started = Date.now();
        sent.push(await sender.chat(`${sender.name} #${n}`, REDIS_DOWN_MS + 10_000));
        await sleep(Math.max(0, 800 - (Date.now() - started)));
      }
    });
    await sleep(2000);
    const downAt = Date.now();
    await cluster.restartRedis(REDIS_DOWN_MS);
    const upAt = Date.now();
    const recoveryMs = await cluster.healthy(20_000);
    await sleep(4000);
    sending = false;
    await Promise.all(loops);
    await sleep(1500);

    const during = sent.filter((s) => s.sentAt >= downAt && s.sentAt < upAt);
    const slowest = Math.max(...sent.map((s) => s.settledAt! - s.sentAt));
    const outcomes = (list: SentMessage[]) => list.map((s) => `${s.outcome}${s.code ? `:${s.code}` : ""}`).join(",");
    console.log(
      `redis restart: sent ${sent.length}, during outage [${outcomes(during)}], slowest answer ${slowest} ms,` +
        ` /health back ${recoveryMs} ms after restart`,
    );
    // Nothing unanswered, and nothing acked that was not committed.
    expect(sent.filter((s) => s.outcome === "timeout" || s.outcome === "closed").map((s) => s.text)).toEqual([]);
    const problems: string[] = [];
    const late = sent.filter((s) => s.settledAt! - s.sentAt > ANSWER_WITHIN_MS);
    if (late.length > 0) {
      problems.push(
        `${late.length} chat message(s) sent during the ${REDIS_DOWN_MS} ms outage were answered only after Redis came back` +
          ` (slowest ${slowest} ms; outcomes ${outcomes(late)}), not refused within ${ANSWER_WITHIN_MS} ms`,
      );
    }
    const acked = sent.filter((s) => s.outcome === "ack");
    const stored = await persistedIds(
      cluster.db(),
      acked.map((s) => s.id!),
    );
    expect(acked.filter((s) => !stored.has(s.id!)).map((s) => s.text)).toEqual([]);
    // Every socket lived through it, and chat acked after the recovery reached everyone.
    for (const m of members) expect(m.open, `${m.name} still connected`).toBe(true);
    const after = acked.filter((s) => s.sentAt > upAt + recoveryMs);
    expect(after.length).toBeGreaterThan(3);
    for (const m of members)
      expect(
        after.filter((s) => !m.delivered.has(s.id!)).map((s) => s.text),
        `undelivered to ${m.name}`,
      ).toEqual([]);

    // Presence rebuilds: the room is listed again, with its viewers.
    const relisted = await eventually("room listed again", listed, 10_000).catch(() => undefined);
    if (relisted?.viewers !== 5)
      problems.push(`after the restart /public/ shows ${relisted ? `viewers ${relisted.viewers}` : "no room"} (expected 5 viewers)`);
    // Mutes are remembered.
    const muted = await viewers[3]!.chat("still muted?");
    if (muted.code !== "MUTED")
      problems.push(
        `a mute set before the restart was forgotten: chat from the muted user got ${muted.outcome}${muted.code ? `:${muted.code}` : ""}`,
      );
    // Limits rebuild: a burst past CHAT_RATE (5 per 3 s) is refused again.
    await sleep(3000);
    const burst: SentMessage[] = [];
    for (let i = 0; i < 7; i += 1) burst.push(await viewers[2]!.chat(`burst ${i}`));
    if (!burst.some((s) => s.code === "RATE_LIMITED")) problems.push(`a burst of 7 was not rate limited: ${outcomes(burst)}`);
    // The lifecycle works: the host leaving starts grace, seen on both instances.
    await host.close();
    const graced = await Promise.all(
      viewers.map((v) =>
        v.client.waitFor("HOST_DISCONNECTED", 8000).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (!graced.every(Boolean))
      problems.push(`host left after the restart: HOST_DISCONNECTED reached ${graced.filter(Boolean).length}/4 viewers`);
    const { rows } = await cluster.db().query<{ state: string }>("SELECT state FROM rooms WHERE id = $1", [room.roomId]);
    if (rows[0]!.state !== "GRACE") problems.push(`host left after the restart: room state ${rows[0]!.state} (expected GRACE)`);
    await Promise.all(members.map((m) => m.close()));
    expect(problems, problems.join("\n")).toEqual([]);
  });
});
