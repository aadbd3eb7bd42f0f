/**
 * A web instance SIGKILLed while its clients chat and the host plays (the cluster suite kills
 * an idle instance; this one kills one under load, with messages in flight):
 *  - every acknowledged message is in the database and reached every member of the surviving
 *    instance; a message in flight on the dead instance ends as a lost connection, not an ack;
 *  - the dead instance's clients reconnect to the survivor, their history has what was acked;
 *  - presence heals: after the reaping the room counts every member once;
 *  - a new instance joins and the room works across both again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasRedisServer } from "../helpers/cluster.js";
import { ChaosCluster, eventually, Member, makeRoom, persistedIds, type SentMessage, sleep } from "./harness.js";
import { canRunPrivatePostgres } from "./postgres.js";

describe.runIf(canRunPrivatePostgres && hasRedisServer)("chaos: a web instance SIGKILLed under load", () => {
  let cluster: ChaosCluster;

  beforeAll(async () => {
    cluster = await ChaosCluster.start({ webs: 2, workers: 1 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("acked chat survives, clients move to the survivor, presence heals", async (ctx) => {
    ctx.onTestFailed(() => console.log(cluster.logs()));
    const [a, b] = cluster.webs as [(typeof cluster.webs)[0], (typeof cluster.webs)[0]];
    const room = await makeRoom(cluster.api(1), 6);
    const g = room.guests;
    const host = new Member("host sio@B", room.host, room.code, b.baseUrl, "socket.io");
    const doomed = [
      new Member("d0 raw@A", g[0]!, room.code, a.baseUrl, "ws"),
      new Member("d1 sio@A", g[1]!, room.code, a.baseUrl, "socket.io"),
    ];
    const survivors = [
      new Member("s0 raw@B", g[2]!, room.code, b.baseUrl, "ws"),
      new Member("s1 sio@B", g[3]!, room.code, b.baseUrl, "socket.io"),
    ];
    const watchers = [new Member("w0 raw@A", g[4]!, room.code, a.baseUrl, "ws"), new Member("w1 raw@B", g[5]!, room.code, b.baseUrl, "ws")];
    const members = [host, ...doomed, ...survivors, ...watchers];
    for (const m of members) await m.connect();
    const listed = async () => (await cluster.api(1).get("/api/rooms/public/")).body?.find((r: { code: string }) => r.code === room.code);
    expect(await listed()).toMatchObject({ viewers: 7 });

    const sent: SentMessage[] = [];
    let sending = true;
    const senders = [...doomed, ...survivors];
    const loops = senders.map(async (sender, i) => {
      await sleep(i * 150);
      for (let n = 0; sending; n += 1) {
        const started = Date.now();
        if (sender.open) sent.push(await sender.chat(`${sender.name} #${n}`, 8000));
        await sleep(Math.max(0, 650 - (Date.now() - started)));
      }
    });
    // The host keeps playback moving meanwhile.
    let seeks = 0;
    const playback = (async () => {
      while (sending) {
        if ((await host.command("SEEK", { time: 10 + seeks })).ok) seeks += 1;
        await sleep(400);
      }
    })();

    await sleep(3000);
    const killedAt = Date.now();
    await cluster.kill(a, "SIGKILL");
    // The dead instance's clients notice at once (the kernel closes their sockets).
    for (const m of [...doomed, watchers[0]!]) await eventually(`${m.name} sees the drop`, async () => !m.open, 5000, 20);
    // B's members see A's users leave once A's heartbeat lapses (PRESENCE_TTL 2 s).
    await eventually(
      "USER_LEFT for A's users on B",
      async () => {
        const left = new Set(host.client.received.filter((m) => m.type === "USER_LEFT").map((m) => m.user_id));
        return [g[0]!.id, g[1]!.id, g[4]!.id].every((id) => left.has(id));
      },
      12_000,
    );
    const leftAfterMs = Date.now() - killedAt;
    // They come back on the survivor.
    for (const m of [...doomed, watchers[0]!]) await m.connect(b.baseUrl);
    // A new instance takes A's place; one viewer moves there.
    const fresh = await cluster.addWeb();
    const newcomer = new Member("w0 sio@A'", g[4]!, room.code, fresh.baseUrl, "socket.io");
    await newcomer.connect();
    await sleep(3000);
    sending = false;
    await Promise.all([...loops, playback]);
    await sleep(1500);

    const acked = sent.filter((s) => s.outcome === "ack");
    const inFlight = sent.filter((s) => s.outcome === "closed");
    console.log(
      `web kill: sent ${sent.length}, acked ${acked.length}, lost with the connection ${inFlight.length}, USER_LEFT after ${leftAfterMs} ms, seeks ${seeks}`,
    );
    // Every message was answered: acked, or the connection was seen to drop (never silence).
    expect(
      sent.filter((s) => s.outcome === "timeout" || s.outcome === "nack").map((s) => `${s.text}: ${s.outcome} ${s.code ?? ""}`),
    ).toEqual([]);
    expect(inFlight.every((s) => s.sender.endsWith("@A") && Math.abs(s.settledAt! - killedAt) < 2000)).toBe(true);
    // Every acked message is stored.
    const stored = await persistedIds(
      cluster.db(),
      acked.map((s) => s.id!),
    );
    expect(acked.filter((s) => !stored.has(s.id!)).map((s) => s.text)).toEqual([]);
    // B's members (never disconnected) got every acked message, from both instances.
    for (const m of [host, ...survivors, watchers[1]!]) {
      expect(m.open).toBe(true);
      expect(
        acked.filter((s) => !m.delivered.has(s.id!)).map((s) => s.text),
        `undelivered to ${m.name}`,
      ).toEqual([]);
    }
    // Whoever reconnected got, live or in the history, every acked message of their absence
    // that is among the newest 50 (the history's size).
    const { rows } = await cluster
      .db()
      .query<{ id: string }>("SELECT id::text FROM chat_messages WHERE room_id = $1 ORDER BY seq DESC", [room.roomId]);
    for (const m of [...doomed, watchers[0]!]) {
      const gap = m.sessions[0]!.to!;
      const rejoined = m.sessions[1]!.from;
      const newest = new Set(rows.slice(0, 50).map((r) => r.id));
      const missing = acked.filter(
        (s) => s.settledAt! >= gap && s.settledAt! <= rejoined && newest.has(s.id!) && !m.history.has(s.id!) && !m.delivered.has(s.id!),
      );
      expect(
        missing.map((s) => s.text),
        `missed by ${m.name}`,
      ).toEqual([]);
    }
    // Presence heals: every member once (w0 has two tabs), the host online.
    await eventually("viewer count healed", async () => (await listed())?.viewers === 7, 10_000);
    // And the room works across the survivor and the new instance.
    const last = await newcomer.chat("after the storm");
    expect(last.outcome).toBe("ack");
    await eventually(
      "the new instance's chat reaches everyone",
      async () => [host, ...doomed, ...survivors].every((m) => m.delivered.has(last.id!)),
      5000,
    );
    const { rows: pb } = await cluster
      .db()
      .query<{ version: number }>("SELECT version FROM playback_states WHERE room_id = $1", [room.roomId]);
    for (const m of [...survivors, watchers[1]!, ...doomed]) expect(m.lastPlayback?.version, m.name).toBe(pb[0]!.version);
    await Promise.all([...members, newcomer].map((m) => m.close()));
  });
});
