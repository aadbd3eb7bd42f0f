/**
 * Resumable sessions: a client that asked for one gets SESSION (a resume token and the room log
 * position) and every logged room message with its seq; when it drops and comes back within the
 * window it gets what it missed, in order, and nobody sees it leave and come back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend, secondInstance, startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient, type TestClient } from "../helpers/clients.js";
import { party, registered } from "../helpers/party.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ RESUME_LINGER_SECONDS: "2" });
});
afterAll(() => t?.stop());

const closeAll = (...clients: TestClient[]) => Promise.all(clients.map((c) => c.close()));

type Transport = "ws" | "socket.io";
/** A resumable client: a first join (`resume`), or a resume with a token and the last seq seen. */
function resumable(transport: Transport, code: string, token: string, resume?: { token: string; lastSeq: number }, baseUrl = t.baseUrl) {
  if (transport === "ws") {
    const query = resume ? `&resume_token=${resume.token}&last_seq=${resume.lastSeq}` : "&resume=1";
    return rawClient(baseUrl, code, token, { query: `?token=${encodeURIComponent(token)}${query}` });
  }
  return sioClient(baseUrl, code, token, { auth: resume ? { resume_token: resume.token, last_seq: resume.lastSeq } : { resume: true } });
}

/** Loses the connection without a goodbye (a network drop). */
function drop(client: TestClient): void {
  if (client.kind === "ws") (client as ReturnType<typeof rawClient>).socket.terminate();
  else (client as ReturnType<typeof sioClient>).socket.io.engine.close();
}

/** A resumable session that joined, got its SESSION, and then lost its connection. */
async function droppedSession(transport: Transport, code: string, token: string) {
  const client = resumable(transport, code, token);
  await client.drainJoin();
  const session = await client.waitFor("SESSION");
  drop(client);
  await client.closed;
  return session;
}

/** A public room: its host connected (raw), and a registered viewer who joined but is not connected. */
const hostAndViewer = () => party(t, { host: { transport: "ws" }, members: { viewer: registered() } });

describe.each(["ws", "socket.io"] as const)("resumable sessions over %s", (transport) => {
  it("a resumable join gets SESSION; logged messages carry seq for it and not for plain clients", async () => {
    const { room, viewer, hostClient } = await hostAndViewer();
    const client = resumable(transport, room.code, viewer.token);
    const join = await client.drainJoin();
    expect(join.map((m) => m.type)).toEqual(["CHAT_HISTORY", "PLAYBACK_STATE", "ROOM_PARTICIPANTS"]);
    const session = await client.waitFor("SESSION");
    expect(session).toMatchObject({ resume_window_seconds: 120 });
    expect(session.resume_token).toMatch(/^[\w-]{20,}$/);
    expect(session.seq).toBeGreaterThan(0); // the viewer's own USER_JOINED at least
    hostClient.send({ type: "CHAT_MESSAGE", message: "numbered" });
    const chat = await client.waitFor("CHAT_MESSAGE");
    expect(chat.seq).toBeGreaterThan(session.seq);
    const plain = await hostClient.waitFor("CHAT_MESSAGE");
    expect(plain).not.toHaveProperty("seq");
    await hostClient.expectNone(100, "SESSION");
  });

  it("after a drop, a resume gets the missed messages in order, no snapshot, and nobody sees a leave or join", async () => {
    const { room, viewer, hostClient } = await hostAndViewer();
    const client = resumable(transport, room.code, viewer.token);
    await client.drainJoin();
    const session = await client.waitFor("SESSION");
    await hostClient.waitFor("USER_JOINED");
    const before = hostClient.received.length;
    drop(client);
    await client.closed;
    // While it is away: two chat messages and a seek.
    hostClient.send({ type: "CHAT_MESSAGE", message: "while away 1" });
    hostClient.send({ type: "SEEK", time: 42 });
    hostClient.send({ type: "CHAT_MESSAGE", message: "while away 2" });
    await hostClient.waitFor("PLAYBACK_STATE");
    while ((await hostClient.waitFor("CHAT_MESSAGE")).message !== "while away 2");

    const back = resumable(transport, room.code, viewer.token, { token: session.resume_token, lastSeq: session.seq });
    const resumed = await back.next("RESUMED");
    expect(resumed).toEqual({ type: "RESUMED", missed: 3, from_seq: session.seq });
    const missed = [await back.next(), await back.next(), await back.next()];
    expect(missed.map((m) => [m.type, m.message ?? m.time])).toEqual([
      ["CHAT_MESSAGE", "while away 1"],
      ["PLAYBACK_STATE", 42],
      ["CHAT_MESSAGE", "while away 2"],
    ]);
    expect(missed.map((m) => m.seq)).toEqual([session.seq + 1, session.seq + 2, session.seq + 3]);
    expect(await back.next("ROOM_PARTICIPANTS")).toMatchObject({ online: 2 });
    const renewed = await back.waitFor("SESSION");
    expect(renewed.resume_token).not.toBe(session.resume_token);
    expect(renewed.seq).toBe(session.seq + 3);
    // The host never saw the viewer go or come back.
    await hostClient.expectNone(300, "USER_LEFT");
    expect(hostClient.received.slice(before).some((m) => m.type === "USER_JOINED" && m.user_id === viewer.id)).toBe(false);
    // And the session goes on: live messages keep their order after the replay.
    hostClient.send({ type: "CHAT_MESSAGE", message: "live again" });
    expect(await back.next("CHAT_MESSAGE")).toMatchObject({ message: "live again", seq: session.seq + 4 });
  });

  it("a token works once, for its own user; anything else is a normal join", async () => {
    const { room, viewer } = await hostAndViewer();
    const session = await droppedSession(transport, room.code, viewer.token);
    // Another member presenting the token gets a full join (and a session of its own).
    const other = await t.api.register();
    await t.api.join(other.token, room.code);
    const thief = resumable(transport, room.code, other.token, { token: session.resume_token, lastSeq: session.seq });
    expect((await thief.drainJoin())[0]!.type).toBe("CHAT_HISTORY");
    // The token was used up by that attempt: the owner gets a full join too.
    const owner = resumable(transport, room.code, viewer.token, { token: session.resume_token, lastSeq: session.seq });
    expect((await owner.drainJoin())[0]!.type).toBe("CHAT_HISTORY");
    expect(await owner.waitFor("SESSION")).toHaveProperty("resume_token");
  });

  it("a position the log no longer covers gets the full join snapshot", async () => {
    const { room, viewer } = await hostAndViewer();
    const session = await droppedSession(transport, room.code, viewer.token);
    const back = resumable(transport, room.code, viewer.token, { token: session.resume_token, lastSeq: session.seq + 1000 });
    const join = await back.drainJoin();
    expect(join.map((m) => m.type)).toEqual(["CHAT_HISTORY", "PLAYBACK_STATE", "ROOM_PARTICIPANTS"]);
  });

  it("a drop without a resume leaves after the linger time; a goodbye leaves at once", async () => {
    const { room, viewer, hostClient } = await hostAndViewer();
    const client = resumable(transport, room.code, viewer.token);
    await client.drainJoin();
    await client.waitFor("SESSION");
    await hostClient.waitFor("USER_JOINED");
    const droppedAt = Date.now();
    drop(client);
    expect(await hostClient.waitFor("USER_LEFT", 6000)).toMatchObject({ user_id: viewer.id });
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(1500);

    const again = resumable(transport, room.code, viewer.token);
    await again.drainJoin();
    const session = await again.waitFor("SESSION");
    await hostClient.waitFor("USER_JOINED");
    const closedAt = Date.now();
    await again.close();
    expect(await hostClient.waitFor("USER_LEFT")).toMatchObject({ user_id: viewer.id });
    expect(Date.now() - closedAt).toBeLessThan(1500);
    // A goodbye ends the session: its token no longer resumes.
    const late = resumable(transport, room.code, viewer.token, { token: session.resume_token, lastSeq: session.seq });
    expect((await late.drainJoin())[0]!.type).toBe("CHAT_HISTORY");
  });
});

describe("a room log that does not answer", () => {
  it("holds nothing back: messages go out without their seq, in order, after a bounded wait", async () => {
    const { room, viewer, hostClient } = await hostAndViewer();
    const client = resumable("ws", room.code, viewer.token);
    await client.drainJoin();
    await client.waitFor("SESSION");
    const log = t.app.realtime.hub.options.resume!.log;
    const append = log.append;
    log.append = () => new Promise<number>(() => {}); // Redis unreachable, say
    try {
      const sentAt = Date.now();
      hostClient.send({ type: "CHAT_MESSAGE", message: "first" });
      hostClient.send({ type: "SEEK", time: 7 });
      hostClient.send({ type: "CHAT_MESSAGE", message: "second" });
      const got = [await client.next("CHAT_MESSAGE"), await client.next("PLAYBACK_STATE"), await client.next("CHAT_MESSAGE")];
      expect(got.map((m) => m.message ?? m.time)).toEqual(["first", 7, "second"]);
      for (const message of got) expect(message).not.toHaveProperty("seq");
      expect(Date.now() - sentAt).toBeLessThan(3000);
    } finally {
      log.append = append;
    }
  });
});

describe("plain clients", () => {
  it("a dropped plain client leaves at once (no linger), as before", async () => {
    const { room, viewer, hostClient } = await hostAndViewer();
    const client = rawClient(t.baseUrl, room.code, viewer.token);
    await client.drainJoin();
    await hostClient.waitFor("USER_JOINED");
    const droppedAt = Date.now();
    drop(client);
    await hostClient.waitFor("USER_LEFT");
    expect(Date.now() - droppedAt).toBeLessThan(1500);
    await client.expectNone(50, "SESSION");
  });
});

describe.runIf(backend === "cluster")("across instances", () => {
  it("a session dropped on one instance resumes on another with what it missed, without a flap", async () => {
    const second = await secondInstance(t);
    try {
      const otherUrl = second.baseUrl;
      const { room, viewer, hostClient } = await hostAndViewer();
      const client = resumable("ws", room.code, viewer.token);
      await client.drainJoin();
      const session = await client.waitFor("SESSION");
      await hostClient.waitFor("USER_JOINED");
      drop(client);
      hostClient.send({ type: "CHAT_MESSAGE", message: "cross-instance" });
      await hostClient.waitFor("CHAT_MESSAGE");
      const back = resumable("socket.io", room.code, viewer.token, { token: session.resume_token, lastSeq: session.seq }, otherUrl);
      expect(await back.next("RESUMED")).toMatchObject({ missed: 1 });
      expect(await back.next("CHAT_MESSAGE")).toMatchObject({ message: "cross-instance", seq: session.seq + 1 });
      // The first instance's linger ends without a USER_LEFT: the user is present on the second.
      await hostClient.expectNone(3000, "USER_LEFT");
      await closeAll(back, hostClient);
    } finally {
      await second.close();
    }
  });
});
