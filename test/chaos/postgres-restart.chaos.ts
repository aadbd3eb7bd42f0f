/**
 * PostgreSQL crashes (pg_ctl stop -m immediate) and comes back while people chat on both
 * transports and both instances. The chat contract under a database outage:
 *  - a message is acknowledged only once committed: every acked message is in the database
 *    afterwards and reached every member of the room;
 *  - a message that could not be committed is refused (ERROR / {ok:false}) within a bound,
 *    never left unanswered, and never broadcast;
 *  - connections survive; joins during the outage are refused with a close code, not hung;
 *  - the service recovers by itself: /health/ returns to 200 and chat is acked again.
 * A second scenario freezes PostgreSQL (SIGSTOP: connections open, no answers, like a stuck
 * host or a partition) instead of crashing it: the same contract, same bound.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawClient, sioClient } from "../helpers/clients.js";
import { hasRedisServer } from "../helpers/cluster.js";
import { ChaosCluster, Member, makeRoom, persistedIds, type SentMessage, sleep } from "./harness.js";
import { canRunPrivatePostgres } from "./postgres.js";

/** A refusal must come within this bound (the pool's connect timeout is 5 s). */
const ANSWER_WITHIN_MS = 8000;
/** Per sender: under CHAT_RATE (5 messages per 3 s per user), with margin. */
const SEND_EVERY_MS = 700;

/** A room's first four guests as senders, one per transport on each instance: `${prefix}0 raw@A` … `${prefix}3 sio@B`. */
function fourSenders(prefix: string, room: Awaited<ReturnType<typeof makeRoom>>, a: string, b: string): Member[] {
  const where = [
    ["raw@A", a, "ws"],
    ["sio@A", a, "socket.io"],
    ["raw@B", b, "ws"],
    ["sio@B", b, "socket.io"],
  ] as const;
  return where.map(([label, url, transport], i) => new Member(`${prefix}${i} ${label}`, room.guests[i]!, room.code, url, transport));
}

describe.runIf(canRunPrivatePostgres && hasRedisServer)("chaos: PostgreSQL restarted or frozen during chat", () => {
  let cluster: ChaosCluster;

  beforeAll(async () => {
    cluster = await ChaosCluster.start({ webs: 2 });
  });

  afterAll(async () => {
    cluster?.pg.thaw();
    await cluster?.stop();
  });

  it("acked chat is durable and delivered; the rest is refused in time; service recovers", async (ctx) => {
    ctx.onTestFailed(() => console.log(cluster.logs()));
    const [a, b] = cluster.webs as [(typeof cluster.webs)[0], (typeof cluster.webs)[0]];
    const room = await makeRoom(cluster.api(0), 6);
    const g = room.guests;
    const host = new Member("host raw@A", room.host, room.code, a.baseUrl, "ws");
    const senders = fourSenders("s", room, a.baseUrl, b.baseUrl);
    const listeners = [
      new Member("l0 raw@B", g[4]!, room.code, b.baseUrl, "ws"),
      new Member("l1 sio@A", g[5]!, room.code, a.baseUrl, "socket.io"),
    ];
    const members = [host, ...senders, ...listeners];
    for (const m of members) await m.connect();

    const sent: SentMessage[] = [];
    let sending = true;
    const loops = senders.map(async (sender, i) => {
      await sleep(i * (SEND_EVERY_MS / senders.length)); // spread the senders out
      for (let n = 0; sending; n += 1) {
        const started = Date.now();
        sent.push(await sender.chat(`${sender.name} #${n}`, ANSWER_WITHIN_MS + 2000));
        await sleep(Math.max(0, SEND_EVERY_MS - (Date.now() - started)));
      }
    });

    await sleep(3000);
    const crashAt = Date.now();
    await cluster.pg.stop("immediate");

    // During the outage: health says so, and a join is refused with a close code, not hung.
    const health = await cluster.api(0).get("/health/");
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ database: "error" });
    const rawJoin = rawClient(b.baseUrl, room.code, g[4]!.token);
    const sioJoin = sioClient(a.baseUrl, room.code, g[5]!.token);
    const refused = await Promise.race([
      Promise.all([rawJoin.closed, sioJoin.closed]),
      sleep(ANSWER_WITHIN_MS).then(() => "hung" as const),
    ]);
    expect(refused).not.toBe("hung");
    // 1013: try again later (a dependency is down), never 1011.
    if (refused !== "hung") expect(refused.map((r) => r.code)).toEqual([1013, 1013]);

    await sleep(Math.max(0, crashAt + 4000 - Date.now()));
    await cluster.pg.start();
    const backAt = Date.now();
    const recoveryMs = await cluster.healthy(20_000);
    // Keep chatting after the recovery, then stop and let the last broadcasts land.
    await sleep(5000);
    sending = false;
    await Promise.all(loops);
    await sleep(1500);

    const acked = sent.filter((s) => s.outcome === "ack");
    const nacked = sent.filter((s) => s.outcome === "nack");
    const silent = sent.filter((s) => s.outcome === "timeout" || s.outcome === "closed");
    const slowest = Math.max(...sent.map((s) => s.settledAt! - s.sentAt));
    console.log(
      `pg restart: sent ${sent.length}, acked ${acked.length}, refused ${nacked.length} (${[...new Set(nacked.map((s) => s.code))]}),` +
        ` unanswered ${silent.length}, slowest answer ${slowest} ms, /health back ${recoveryMs} ms after restart`,
    );

    // The outage was felt (else this test proves nothing), and nothing went unanswered.
    expect(nacked.length).toBeGreaterThan(0);
    expect(silent.map((s) => `${s.text}: ${s.outcome}`)).toEqual([]);
    expect(slowest).toBeLessThanOrEqual(ANSWER_WITHIN_MS);
    expect(new Set(nacked.map((s) => s.code))).toEqual(new Set(["SERVICE_UNAVAILABLE"]));

    // Every acked message is in the database...
    const ids = acked.map((s) => s.id!);
    const stored = await persistedIds(cluster.db(), ids);
    expect(ids.filter((id) => !stored.has(id))).toEqual([]);
    // ...with its text, once.
    const { rows } = await cluster
      .db()
      .query<{ id: string; message: string }>("SELECT id::text, message FROM chat_messages WHERE room_id = $1", [room.roomId]);
    const byText = new Map<string, number>();
    for (const r of rows) byText.set(r.message, (byText.get(r.message) ?? 0) + 1);
    for (const s of acked) expect(byText.get(s.text), s.text).toBe(1);
    // ...and reached every member (all stayed connected), while refused ones reached nobody.
    for (const m of members) {
      expect(m.open, `${m.name} still connected`).toBe(true);
      expect(
        ids.filter((id) => !m.delivered.has(id)),
        `undelivered to ${m.name}`,
      ).toEqual([]);
    }
    const refusedTexts = new Set(nacked.map((s) => s.text));
    for (const m of members) {
      const leaked = rows.filter((r) => refusedTexts.has(r.message) && m.delivered.has(r.id));
      expect(leaked, `refused but broadcast to ${m.name}`).toEqual([]);
    }
    // The service recovered without a restart: chat after the database came back is acked.
    const afterRecovery = sent.filter((s) => s.sentAt > backAt + recoveryMs);
    expect(afterRecovery.length).toBeGreaterThan(8);
    expect(afterRecovery.filter((s) => s.outcome !== "ack")).toEqual([]);
    expect(cluster.webs.every((w) => w.child.exitCode === null)).toBe(true);
    await Promise.all(members.map((m) => m.close()));
  });

  it("frozen (SIGSTOP) for longer than the bound: chat is refused in time, acked chat is durable, service recovers", async (ctx) => {
    ctx.onTestFailed(() => console.log(cluster.logs()));
    const FREEZE_MS = 12_000;
    const [a, b] = cluster.webs as [(typeof cluster.webs)[0], (typeof cluster.webs)[0]];
    const room = await makeRoom(cluster.api(1), 4);
    const senders = fourSenders("f", room, a.baseUrl, b.baseUrl);
    for (const m of senders) await m.connect();
    const sent: SentMessage[] = [];
    let sending = true;
    const loops = senders.map(async (sender, i) => {
      await sleep(i * 150);
      for (let n = 0; sending; n += 1) {
        const started = Date.now();
        sent.push(await sender.chat(`${sender.name} #${n}`, FREEZE_MS + 15_000));
        await sleep(Math.max(0, SEND_EVERY_MS - (Date.now() - started)));
      }
    });
    await sleep(2000);
    const frozenAt = Date.now();
    cluster.pg.freeze();
    // Health answers within its own probe timeout, and says the database is out.
    const health = await cluster.api(0).get("/health/");
    expect(health.status).toBe(503);
    await sleep(Math.max(0, frozenAt + FREEZE_MS - Date.now()));
    cluster.pg.thaw();
    const thawedAt = Date.now();
    const recoveryMs = await cluster.healthy(20_000);
    await sleep(4000);
    sending = false;
    await Promise.all(loops);
    await sleep(1500);

    const acked = sent.filter((s) => s.outcome === "ack");
    const latency = (s: SentMessage) => s.settledAt! - s.sentAt;
    const late = sent.filter((s) => latency(s) > ANSWER_WITHIN_MS);
    const outcomes = (list: SentMessage[]) => [...new Set(list.map((s) => `${s.outcome}${s.code ? `:${s.code}` : ""}`))].join(",");
    console.log(
      `pg freeze ${FREEZE_MS} ms: sent ${sent.length}, acked ${acked.length}, answered late ${late.length} (${outcomes(late)}),` +
        ` slowest ${Math.max(...sent.map(latency))} ms, /health back ${recoveryMs} ms after thaw`,
    );
    // Hard guarantees: nothing unanswered for good, acked chat stored and delivered, sockets up.
    expect(sent.filter((s) => s.outcome === "timeout" || s.outcome === "closed").map((s) => s.text)).toEqual([]);
    const stored = await persistedIds(
      cluster.db(),
      acked.map((s) => s.id!),
    );
    expect(acked.filter((s) => !stored.has(s.id!)).map((s) => s.text)).toEqual([]);
    for (const m of senders) {
      expect(m.open, `${m.name} still connected`).toBe(true);
      expect(
        acked.filter((s) => !m.delivered.has(s.id!)).map((s) => s.text),
        `undelivered to ${m.name}`,
      ).toEqual([]);
    }
    const after = sent.filter((s) => s.sentAt > thawedAt + recoveryMs);
    expect(after.length).toBeGreaterThan(4);
    expect(after.filter((s) => s.outcome !== "ack").map((s) => s.text)).toEqual([]);
    // The bound: a message the database cannot take in time is refused in time.
    const problems: string[] = [];
    if (late.length > 0) {
      problems.push(
        `${late.length} of ${sent.filter((s) => s.sentAt >= frozenAt && s.sentAt < thawedAt).length} chat messages sent while PostgreSQL was frozen` +
          ` for ${FREEZE_MS} ms were answered only after it resumed (slowest ${Math.max(...late.map(latency))} ms; ${outcomes(late)}),` +
          ` not refused within ${ANSWER_WITHIN_MS} ms`,
      );
    }
    await Promise.all(senders.map((m) => m.close()));
    expect(problems, problems.join("\n")).toEqual([]);
  });

  it("a client that resends a refused message with its command_id gets it posted exactly once, and the resend is never refused as a duplicate or over the rate limit", async (ctx) => {
    ctx.onTestFailed(() => console.log(cluster.logs()));
    const [a, b] = cluster.webs as [(typeof cluster.webs)[0], (typeof cluster.webs)[0]];
    const room = await makeRoom(cluster.api(0), 4);
    const senders = fourSenders("r", room, a.baseUrl, b.baseUrl);
    for (const m of senders) await m.connect();
    const attempts: SentMessage[] = [];
    const logical: { text: string; acked: boolean }[] = [];
    let sending = true;
    const loops = senders.map(async (sender, i) => {
      await sleep(i * (SEND_EVERY_MS / senders.length));
      for (let n = 0; sending; n += 1) {
        const message = { text: `${sender.name} #${n}`, acked: false };
        logical.push(message);
        // Resent (same text, same id) at the sender's pace until the server takes it.
        for (let tries = 0; !message.acked && tries < 40; tries += 1) {
          const started = Date.now();
          const attempt = await sender.chat(message.text, ANSWER_WITHIN_MS + 2000, `${sender.name}/${n}`.replace(/[^\w.:-]/g, "_"));
          attempts.push(attempt);
          message.acked = attempt.outcome === "ack";
          await sleep(Math.max(0, SEND_EVERY_MS - (Date.now() - started)));
        }
      }
    });
    await sleep(3000);
    await cluster.pg.stop("immediate");
    await sleep(4000);
    await cluster.pg.start();
    await cluster.healthy(20_000);
    await sleep(3000);
    sending = false;
    await Promise.all(loops);
    await sleep(1500);

    const refused = attempts.filter((s) => s.outcome === "nack");
    console.log(
      `pg restart with resends: ${logical.length} messages, ${attempts.length} attempts, refused ${refused.length}` +
        ` (${[...new Set(refused.map((s) => s.code))]}), unanswered ${attempts.filter((s) => s.outcome !== "ack" && s.outcome !== "nack").length}`,
    );
    expect(refused.length, "the outage was felt").toBeGreaterThan(0);
    // A resend after a failed post is judged as if the failure never happened.
    expect(new Set(refused.map((s) => s.code))).toEqual(new Set(["SERVICE_UNAVAILABLE"]));
    expect(logical.filter((m) => !m.acked).map((m) => m.text)).toEqual([]);
    const { rows } = await cluster.db().query<{ message: string }>("SELECT message FROM chat_messages WHERE room_id = $1", [room.roomId]);
    const stored = new Map<string, number>();
    for (const r of rows) stored.set(r.message, (stored.get(r.message) ?? 0) + 1);
    expect(logical.filter((m) => stored.get(m.text) !== 1).map((m) => `${m.text}: ${stored.get(m.text) ?? 0}`)).toEqual([]);
    await Promise.all(senders.map((m) => m.close()));
  });
});
