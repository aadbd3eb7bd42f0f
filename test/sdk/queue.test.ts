/** The SDK's queue, vote-skip and persistence helpers against the real server (both backends). */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { guest, party, registered } from "../helpers/party.js";
import { open, recorder } from "./helpers/rooms.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

const media = (n: number) => ({ provider: "direct", video_id: `https://media.example/sdk-${n}.webm`, title: `Film ${n}`, duration: 60 });

it("the host fills, reorders and advances the queue; members see it and vote to skip; versions guard edits", async () => {
  const p = await party(t, { members: { viewer: guest("Pal", { transport: null }), other: registered({ transport: null }) } });
  const host = open({ url: t.baseUrl, code: p.room.code, token: p.host.token });
  const viewer = open({ url: t.baseUrl, code: p.room.code, token: p.viewer.token });
  const other = open({ url: t.baseUrl, code: p.room.code, token: p.other.token });
  const seen = recorder(viewer);
  await Promise.all([host.ready, viewer.ready, other.ready]);

  expect((await viewer.loadQueue()).items).toEqual([]);
  expect(viewer.queue).toMatchObject({ version: 0, items: [] });
  expect(await host.queueAdd(media(1))).toBe(1);
  expect(await host.queueAdd({ ...media(2), expected_version: 1 })).toBe(2);
  await expect(host.queueAdd({ ...media(3), expected_version: 1 })).rejects.toMatchObject({ code: "STALE_VERSION" });
  const [updated] = await seen.next("QUEUE_UPDATED", (m) => m.version === 2);
  expect(updated.items.map((i) => i.title)).toEqual(["Film 1", "Film 2"]);
  expect(viewer.queue?.version).toBe(2);

  const second = updated.items[1]!.id;
  expect(await host.queueMove(second, 0)).toBe(3);
  await expect(viewer.queueAdd(media(4))).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
  await host.next();
  const [source] = await seen.next("SOURCE_CHANGED");
  expect(source).toMatchObject({ title: "Film 2", video_id: media(2).video_id });
  await seen.next("QUEUE_UPDATED", (m) => m.items.length === 1);
  expect(viewer.queue?.items.map((i) => i.title)).toEqual(["Film 1"]);

  // Three online: half of them is two votes; the viewer's vote alone does not skip, and taking it back counts.
  expect(await viewer.voteSkip()).toEqual({ votes: 1, needed: 2, skipped: false });
  await seen.next("VOTE_SKIP_UPDATED", (m) => m.votes === 1);
  expect(viewer.skipVotes).toMatchObject({ item_id: source.item_id, votes: 1, needed: 2 });
  expect(await viewer.voteSkip(false)).toMatchObject({ votes: 0, skipped: false });
  await viewer.voteSkip();
  expect(await other.voteSkip()).toEqual({ votes: 2, needed: 2, skipped: true });
  const [next] = await seen.next("SOURCE_CHANGED", (m) => m.title === "Film 1");
  expect(next.item_id).not.toBe(source.item_id);
  // A new item: the votes for the last one are gone.
  expect(viewer.skipVotes).toBeUndefined();
  await expect(host.next()).rejects.toMatchObject({ code: "QUEUE_EMPTY" });

  await host.queueAdd(media(5));
  const [item] = (await host.loadQueue()).items;
  await host.queueRemove(item!.id);
  expect((await host.loadQueue()).items).toEqual([]);
  for (const room of [host, viewer, other]) room.close();
});

it("the host keeps the room with setPersistent() and sets the buffering policy; members are told; a viewer may not", async () => {
  const p = await party(t, { members: { viewer: guest("Pal", { transport: null }) } });
  const host = open({ url: t.baseUrl, code: p.room.code, token: p.host.token });
  const viewer = open({ url: t.baseUrl, code: p.room.code, token: p.viewer.token });
  const seen = recorder(viewer);
  await Promise.all([host.ready, viewer.ready]);
  expect(await host.setPersistent(true)).toBe(true);
  expect(await seen.next("ROOM_PERSISTENCE")).toEqual([expect.objectContaining({ is_persistent: true })]);
  await expect(viewer.setPersistent(false)).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
  expect(viewer.restedAt).toBeNull();
  // The buffering policy: the ack has the policy in force, members keep the latest.
  expect(await host.setBufferingPolicy({ policy: "wait_for_all", max_wait_seconds: 20 })).toEqual({
    policy: "wait_for_all",
    max_wait_seconds: 20,
    ready_percent: 75,
  });
  await seen.next("BUFFERING_POLICY");
  expect(viewer.bufferingPolicy).toMatchObject({ policy: "wait_for_all", max_wait_seconds: 20 });
  await expect(viewer.setBufferingPolicy({ policy: "never" })).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
  host.close();
  viewer.close();
});
