/**
 * The queue and vote skip over both transports: versioned edits by those who may drive playback,
 * the next item on NEXT, on the host's `ended` and when a known duration runs out (each once),
 * and votes counted once per user that pass at the room's share of the online members.
 */
import { QUEUE_MAX_ITEMS } from "@streamit/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend, secondInstance, startApp, type TestApp } from "../helpers/app.js";
import type { Message, TestClient } from "../helpers/clients.js";
import { transports } from "../helpers/clients.js";
import { guest, party, type Transport } from "../helpers/party.js";

let t: TestApp;
beforeAll(async () => {
  // No start lead: the next item's state is in force when it is sent (scheduled starts: sync tests).
  t = await startApp({ START_LEAD_MAX_MS: "0" });
});
afterAll(() => t?.stop());

const media = (n: number) => `https://media.example/film-${n}.webm`;
const item = (n: number, extra: Record<string, unknown> = {}) => ({ provider: "direct", video_id: media(n), title: `Film ${n}`, ...extra });

/** The host and two guests, all over `connect`. */
const watchParty = (connect: Transport) =>
  party(t, { transport: connect, members: { ann: guest("Ann"), bob: guest("Bob") }, hostSeesJoin: true });

/** Sends and reads the answer: the first unread ERROR or message of `type`, whichever comes first. */
async function sendAndRead(client: TestClient, message: Record<string, unknown>, type: string): Promise<Message> {
  client.send(message);
  for (;;) {
    const next = await client.next();
    if (next.type === type || next.type === "ERROR") return next;
  }
}

const queueEvents = async (roomId: string) =>
  (
    await t.app.database.db
      .selectFrom("room_events")
      .select(["event", "data"])
      .where("room_id", "=", roomId)
      .where("event", "like", "queue.%")
      .orderBy("seq")
      .execute()
  ).map((e): Record<string, any> => ({ event: e.event, ...(e.data as Record<string, unknown>) }));

describe.each(transports)("the queue over %s", (_name, connect) => {
  it("the host adds, moves and removes items; everyone sees each version; viewers may not edit", async () => {
    const { host, room, hostClient, annClient } = await watchParty(connect);
    hostClient.send({ type: "QUEUE_ADD", ...item(1, { duration: 90 }) });
    const first = await annClient.waitFor("QUEUE_UPDATED");
    expect(first).toEqual({
      type: "QUEUE_UPDATED",
      version: 1,
      items: [
        {
          id: expect.any(String),
          provider: "direct",
          video_id: media(1),
          media_type: "movie",
          season: null,
          episode: null,
          title: "Film 1",
          duration: 90,
          added_by: host.id,
          embed_url: media(1),
        },
      ],
    });
    hostClient.send({ type: "QUEUE_ADD", ...item(2) });
    hostClient.send({ type: "QUEUE_ADD", ...item(3), expected_version: 2 });
    await annClient.waitFor("QUEUE_UPDATED");
    const three = await annClient.waitFor("QUEUE_UPDATED");
    expect(three.items.map((i: any) => i.title)).toEqual(["Film 1", "Film 2", "Film 3"]);

    hostClient.send({ type: "QUEUE_MOVE", item_id: three.items[2].id, to: 0 });
    expect((await annClient.waitFor("QUEUE_UPDATED")).items.map((i: any) => i.title)).toEqual(["Film 3", "Film 1", "Film 2"]);
    hostClient.send({ type: "QUEUE_MOVE", item_id: three.items[2].id, to: 99 });
    expect((await annClient.waitFor("QUEUE_UPDATED")).items.map((i: any) => i.title)).toEqual(["Film 1", "Film 2", "Film 3"]);
    hostClient.send({ type: "QUEUE_REMOVE", item_id: three.items[1].id });
    const removed = await annClient.waitFor("QUEUE_UPDATED");
    expect(removed).toMatchObject({ version: 6 });
    expect(removed.items.map((i: any) => i.title)).toEqual(["Film 1", "Film 3"]);

    expect(await sendAndRead(annClient, { type: "QUEUE_ADD", ...item(4) }, "QUEUE_UPDATED")).toMatchObject({
      type: "ERROR",
      code: "PERMISSION_DENIED",
    });
    expect(await sendAndRead(annClient, { type: "QUEUE_GET" }, "QUEUE_UPDATED")).toEqual(removed);
    const rest = await t.api.get(`/api/rooms/queue/?room_id=${room.room_id}`, { token: host.token });
    expect(rest.body).toEqual({ room_id: room.room_id, version: 6, items: removed.items, skip_threshold_percent: 50 });
    const stranger = await t.api.guest("Stranger");
    expect((await t.api.get(`/api/rooms/queue/?room_id=${room.room_id}`, { token: stranger.token })).body.code).toBe("NOT_A_PARTICIPANT");
    expect((await queueEvents(room.room_id)).map((e) => e.event)).toEqual([
      "queue.added",
      "queue.added",
      "queue.added",
      "queue.moved",
      "queue.moved",
      "queue.removed",
    ]);
  });

  it("a change based on a stale version is refused and the sender sees the queue as it is", async () => {
    const { hostClient } = await watchParty(connect);
    hostClient.send({ type: "QUEUE_ADD", ...item(1), expected_version: 0 });
    await hostClient.waitFor("QUEUE_UPDATED");
    hostClient.send({ type: "QUEUE_ADD", ...item(2), expected_version: 0 });
    const answers = await hostClient.waitForAll(["ERROR", "QUEUE_UPDATED"]);
    const [error, current] = ["ERROR", "QUEUE_UPDATED"].map((type) => answers.find((m) => m.type === type));
    expect(error).toEqual({ type: "ERROR", code: "STALE_VERSION", message: "The queue is at version 1, not 0" });
    expect(current).toMatchObject({ version: 1, items: [{ title: "Film 1" }] });
  });

  it("refuses bad items with clear errors, and a full queue", async () => {
    const { room, hostClient } = await watchParty(connect);
    for (const [bad, code] of [
      [{ provider: "nope", video_id: "x" }, "UNKNOWN_PROVIDER"],
      [{ provider: "direct", video_id: "ftp://media.example/x.webm" }, "VALIDATION_FAILED"],
      [{ ...item(1), duration: -3 }, "VALIDATION_FAILED"],
      [{ ...item(1), title: "x".repeat(201) }, "VALIDATION_FAILED"],
    ] as const) {
      expect(await sendAndRead(hostClient, { type: "QUEUE_ADD", ...bad }, "QUEUE_UPDATED")).toMatchObject({ type: "ERROR", code });
    }
    await t.app.database.db
      .insertInto("room_queue_items")
      .values(
        Array.from({ length: QUEUE_MAX_ITEMS }, (_, i) => ({ room_id: room.room_id, position: i, provider: "direct", video_id: media(i) })),
      )
      .execute();
    expect(await sendAndRead(hostClient, { type: "QUEUE_ADD", ...item(1) }, "QUEUE_UPDATED")).toMatchObject({
      type: "ERROR",
      code: "QUEUE_FULL",
      message: `The queue holds at most ${QUEUE_MAX_ITEMS} items`,
    });
  });

  it("NEXT plays the head item from 0 (its id, title and duration in SOURCE_CHANGED); an empty queue says so", async () => {
    const { host, room, hostClient, bobClient } = await watchParty(connect);
    hostClient.send({ type: "QUEUE_ADD", ...item(1, { duration: 600 }) });
    const queued = await bobClient.waitFor("QUEUE_UPDATED");
    hostClient.send({ type: "PLAY", time: 30 });
    await bobClient.waitFor("PLAYBACK_STATE");
    hostClient.send({ type: "NEXT" });
    const [source, playback, queue] = await bobClient.waitForAll(["SOURCE_CHANGED", "PLAYBACK_STATE", "QUEUE_UPDATED"]);
    expect(source).toMatchObject({
      video_provider: "direct",
      video_id: media(1),
      item_id: queued.items[0].id,
      title: "Film 1",
      duration: 600,
    });
    expect(playback).toMatchObject({ is_playing: true, time: 0, rate: 1, version: 2 });
    expect(queue).toMatchObject({ version: 2, items: [] });
    hostClient.send({ type: "NEXT" });
    expect(await hostClient.waitFor("ERROR")).toEqual({ type: "ERROR", code: "QUEUE_EMPTY", message: "The queue is empty" });
    expect((await queueEvents(room.room_id)).at(-1)).toMatchObject({
      event: "queue.advanced",
      reason: "next",
      item_id: queued.items[0].id,
    });
    const detail = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: host.token });
    expect(detail.body).toMatchObject({ video_id: media(1), item_id: queued.items[0].id, title: "Film 1", duration: 600 });
  });

  it("the host's player ending plays the next item, once however often it is said", async () => {
    const { room, hostClient, annClient } = await watchParty(connect);
    hostClient.send({ type: "QUEUE_ADD", ...item(1) });
    hostClient.send({ type: "QUEUE_ADD", ...item(2) });
    await annClient.waitFor("QUEUE_UPDATED");
    await annClient.waitFor("QUEUE_UPDATED");
    hostClient.send({ type: "NEXT" });
    expect((await annClient.waitFor("SOURCE_CHANGED")).title).toBe("Film 1");
    for (let i = 0; i < 3; i += 1) hostClient.send({ type: "PLAYER_EVENT", data: { event: "ended", currentTime: 100, duration: 100 } });
    expect((await annClient.waitFor("SOURCE_CHANGED")).title).toBe("Film 2");
    // The other two were about Film 1, which no longer plays: nothing more moved.
    await annClient.expectNone(300, "SOURCE_CHANGED");
    const advanced = (await queueEvents(room.room_id)).filter((e) => e.event === "queue.advanced");
    expect(advanced.map((e) => e.reason)).toEqual(["next", "ended"]);
    // A viewer's `ended` moves nothing.
    hostClient.send({ type: "QUEUE_ADD", ...item(3) });
    await annClient.waitFor("QUEUE_UPDATED");
    annClient.send({ type: "PLAYER_EVENT", data: { event: "ended", currentTime: 100, duration: 100 } });
    await annClient.expectNone(300, "SOURCE_CHANGED");
  });

  it("a known duration moves the room on by itself when its clock passes the end", async () => {
    const { room, hostClient, annClient } = await watchParty(connect);
    hostClient.send({ type: "QUEUE_ADD", ...item(1, { duration: 0.5 }) });
    hostClient.send({ type: "QUEUE_ADD", ...item(2) });
    await annClient.waitFor("QUEUE_UPDATED");
    await annClient.waitFor("QUEUE_UPDATED");
    hostClient.send({ type: "PLAY", time: 0 });
    await annClient.waitFor("PLAYBACK_STATE");
    hostClient.send({ type: "NEXT" });
    expect((await annClient.waitFor("SOURCE_CHANGED")).title).toBe("Film 1");
    // 0.5 s of film and the slack the host's player gets to say so first.
    expect((await annClient.waitFor("SOURCE_CHANGED", 10_000)).title).toBe("Film 2");
    expect((await queueEvents(room.room_id)).filter((e) => e.event === "queue.advanced").map((e) => e.reason)).toEqual([
      "next",
      "duration",
    ]);
  });
});

describe.each(transports)("vote skip over %s", (_name, connect) => {
  it("passes at the room's share of the online members, one vote per user across tabs, and starts afresh for the next item", async () => {
    const { room, ann, hostClient, annClient, bobClient } = await watchParty(connect);
    hostClient.send({ type: "QUEUE_ADD", ...item(1) });
    hostClient.send({ type: "QUEUE_ADD", ...item(2) });
    await bobClient.waitFor("QUEUE_UPDATED");
    await bobClient.waitFor("QUEUE_UPDATED");
    hostClient.send({ type: "NEXT" });
    const playing = await bobClient.waitFor("SOURCE_CHANGED");

    // Three online of three: 50 % needs two votes.
    annClient.send({ type: "VOTE_SKIP" });
    expect(await bobClient.waitFor("VOTE_SKIP_UPDATED")).toEqual({
      type: "VOTE_SKIP_UPDATED",
      item_id: playing.item_id,
      votes: 1,
      needed: 2,
    });
    const annTab = connect(t.baseUrl, room.code, ann.token);
    await annTab.drainJoin();
    annTab.send({ type: "VOTE_SKIP" });
    expect(await bobClient.waitFor("VOTE_SKIP_UPDATED")).toMatchObject({ votes: 1, needed: 2 });
    // Taken back and given again.
    annTab.send({ type: "VOTE_SKIP", vote: false });
    expect(await bobClient.waitFor("VOTE_SKIP_UPDATED")).toMatchObject({ votes: 0 });
    annClient.send({ type: "VOTE_SKIP", vote: true });
    expect(await bobClient.waitFor("VOTE_SKIP_UPDATED")).toMatchObject({ votes: 1 });
    bobClient.send({ type: "VOTE_SKIP" });
    expect(await bobClient.waitFor("VOTE_SKIP_UPDATED")).toMatchObject({ votes: 2, needed: 2 });
    const next = await bobClient.waitFor("SOURCE_CHANGED");
    expect(next).toMatchObject({ title: "Film 2" });
    expect((await queueEvents(room.room_id)).at(-1)).toMatchObject({
      event: "queue.advanced",
      reason: "vote",
      from_item_id: playing.item_id,
    });

    // A new item: the votes start again.
    annClient.send({ type: "VOTE_SKIP" });
    expect(await bobClient.waitFor("VOTE_SKIP_UPDATED")).toEqual({ type: "VOTE_SKIP_UPDATED", item_id: next.item_id, votes: 1, needed: 2 });
  });

  it("follows the host's threshold, and says when nothing plays", async () => {
    const { host, room, hostClient, annClient } = await watchParty(connect);
    expect(await sendAndRead(annClient, { type: "VOTE_SKIP" }, "VOTE_SKIP_UPDATED")).toEqual({
      type: "ERROR",
      code: "CONFLICT",
      message: "Nothing is playing to skip",
    });
    const set = await t.api.post(
      "/api/rooms/queue/settings/",
      { room_id: room.room_id, skip_threshold_percent: 100 },
      { token: host.token },
    );
    expect(set.body).toEqual({ room_id: room.room_id, skip_threshold_percent: 100 });
    hostClient.send({ type: "QUEUE_ADD", ...item(1) });
    await annClient.waitFor("QUEUE_UPDATED");
    hostClient.send({ type: "NEXT" });
    await annClient.waitFor("SOURCE_CHANGED");
    annClient.send({ type: "VOTE_SKIP" });
    expect(await annClient.waitFor("VOTE_SKIP_UPDATED")).toMatchObject({ votes: 1, needed: 3 });
    const viewer = await t.api.post(
      "/api/rooms/queue/settings/",
      { room_id: room.room_id, skip_threshold_percent: 10 },
      { token: (await t.api.guest()).token },
    );
    expect(viewer.status).toBe(403);
    const bad = await t.api.post("/api/rooms/queue/settings/", { room_id: room.room_id, skip_threshold_percent: 0 }, { token: host.token });
    expect(bad.body.error).toBe("skip_threshold_percent must be at least 1");
  });
});

describe.runIf(backend === "cluster")("across instances (same PostgreSQL and Redis)", () => {
  it("one user's tabs on two instances vote once; votes from both instances pass once; everyone sees the queue", async () => {
    const second = await secondInstance(t);
    try {
      const [, raw] = transports[0]!;
      const [, sio] = transports[1]!;
      const { room, ann, hostClient, annClient, bobClient, caraClient } = await party(t, {
        transport: raw,
        members: {
          ann: guest("Ann", { baseUrl: second.baseUrl }),
          bob: guest("Bob", { transport: sio }),
          cara: guest("Cara", { baseUrl: second.baseUrl, transport: sio }),
        },
        hostSeesJoin: true,
      });
      hostClient.send({ type: "QUEUE_ADD", ...item(1) });
      hostClient.send({ type: "QUEUE_ADD", ...item(2) });
      hostClient.send({ type: "QUEUE_ADD", ...item(3) });
      // The queue reaches the members on the other instance, at every version.
      for (const version of [1, 2, 3]) expect(await annClient.waitFor("QUEUE_UPDATED")).toMatchObject({ version });
      hostClient.send({ type: "NEXT" });
      const playing = await caraClient.waitFor("SOURCE_CHANGED");
      for (const client of [hostClient, annClient, bobClient])
        expect(await client.waitFor("SOURCE_CHANGED")).toMatchObject({ title: "Film 1" });

      // Four online: 50 % is two votes. Ann votes here and from a tab on the first instance: one vote.
      annClient.send({ type: "VOTE_SKIP" });
      expect(await bobClient.waitFor("VOTE_SKIP_UPDATED")).toMatchObject({ item_id: playing.item_id, votes: 1, needed: 2 });
      const annTab = raw(t.baseUrl, room.code, ann.token);
      await annTab.drainJoin();
      annTab.send({ type: "VOTE_SKIP" });
      expect(await caraClient.waitFor("VOTE_SKIP_UPDATED")).toMatchObject({ votes: 1 });
      expect(await caraClient.waitFor("VOTE_SKIP_UPDATED")).toMatchObject({ votes: 1 });

      // Bob (first instance) and Cara (second) vote at once: the room moves on once.
      bobClient.send({ type: "VOTE_SKIP" });
      caraClient.send({ type: "VOTE_SKIP" });
      expect(await hostClient.waitFor("SOURCE_CHANGED")).toMatchObject({ title: "Film 2" });
      await hostClient.expectNone(400, "SOURCE_CHANGED");
      const advanced = (await queueEvents(room.room_id)).filter((e) => e.event === "queue.advanced" && e.reason === "vote");
      expect(advanced).toHaveLength(1);
      expect(await annClient.waitFor("SOURCE_CHANGED")).toMatchObject({ title: "Film 2" });
    } finally {
      await second.close();
    }
  });
});
