/**
 * The authorisation matrix: every REST operation of the OpenAPI document and every
 * client→server socket event, against every kind of caller, with the outcome the contract
 * promises (HTTP status + error code; close code / connect_error code; ERROR code or the
 * command applied). Refused calls must change nothing (room, playback, participants, bans,
 * mutes, progress, chat, audit, presence), and what callers do receive must not leak what
 * they are not entitled to (other users' progress, a private room's details, its member list,
 * its bans, its password).
 *
 * The rooms under test:
 *  - R: a private APPROVAL room of `host`, the target of every cell. Its approved members are
 *    participant (registered), guest (a guest account), victim (moderation target), and the
 *    owners of the expired and revoked tokens, and a watcher (observer of the socket suites);
 *    `pending` asked to join and was not approved;
 *    `banned` was approved, then banned by the host over the socket.
 *  - RP: a private PASSWORD room of `host` (password rotation is tried against it).
 *  - O: a public room of `otherHost`.
 * A host-only call that would destroy R when allowed (delete, staff expire/delete) is sent by
 * the allowed caller against a throwaway room of its own instead; the refused callers aim at R.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { clientMessages } from "@streamit/protocol";
import { createSigner } from "fast-jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { markLive } from "../../src/lifecycle/transitions.js";
import type { ApiResponse } from "../helpers/api.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { type Message, rawClient, sioClient, type TestClient } from "../helpers/clients.js";
import { startTmdbStub, type TmdbStub } from "../helpers/tmdb-stub.js";

// ---- caller kinds -------------------------------------------------------------------------

const KINDS = [
  "anonymous", // no Authorization header / no token
  "badToken", // garbage
  "expiredToken", // a well-formed token of an approved member of R, signed with the server's secret, exp in the past
  "revokedToken", // the token of an approved member of R, after POST /api/auth/logout/
  "guest", // a guest account (auth/guest/), approved member of R
  "nonMember", // a registered user with no relation to R
  "participant", // a registered user, approved member of R
  "pending", // asked to join R (APPROVAL), not approved
  "banned", // approved member of R, then banned by the host
  "host", // R's host
  "staff", // is_staff account, no relation to R
  "otherHost", // host of another room (O), no relation to R
] as const;
type Kind = (typeof KINDS)[number];

type Outcome = string;
const OK = "200";
const CREATED = "201";
const DENIED = "403 PERMISSION_DENIED";
const NOT_MEMBER = "403 NOT_A_PARTICIPANT";

/** What a caller without a valid session gets from every protected operation. */
const SIGNED_OUT = {
  anonymous: "401 AUTH_REQUIRED",
  badToken: "401 INVALID_TOKEN",
  expiredToken: "401 INVALID_TOKEN",
  revokedToken: "401 INVALID_TOKEN",
} as const;
type SignedInKind = Exclude<Kind, keyof typeof SIGNED_OUT>;

const everyone = (outcome: Outcome) => Object.fromEntries(KINDS.map((k) => [k, outcome])) as Record<Kind, Outcome>;
const signedIn = (cells: Record<SignedInKind, Outcome>): Record<Kind, Outcome> => ({ ...SIGNED_OUT, ...cells });
const hostOnly = (allowed: Outcome) =>
  signedIn({
    guest: DENIED,
    nonMember: DENIED,
    participant: DENIED,
    pending: DENIED,
    banned: DENIED,
    host: allowed,
    staff: DENIED,
    otherHost: DENIED,
  });
const staffOnly = () =>
  signedIn({
    guest: DENIED,
    nonMember: DENIED,
    participant: DENIED,
    pending: DENIED,
    banned: DENIED,
    host: DENIED,
    staff: OK,
    otherHost: DENIED,
  });
/** Allowed to every signed-in caller: its own data only (see the checks below). */
const anySignedIn = (outcome: Outcome) =>
  signedIn({
    guest: outcome,
    nonMember: outcome,
    participant: outcome,
    pending: outcome,
    banned: outcome,
    host: outcome,
    staff: outcome,
    otherHost: outcome,
  });
/**
 * Room-scoped data of R: approved, non-banned members only. A ban keeps the participant row
 * APPROVED (so that UNBAN restores access), so every room-scoped read must also ask room_bans:
 * join and socket admission do; detail/ does since this matrix found it did not; progress
 * save/get still do not (src/progress/service.ts requireMember) — those two cells fail until fixed.
 */
const membersOfR = (pending: Outcome) =>
  signedIn({
    guest: OK,
    nonMember: NOT_MEMBER,
    participant: OK,
    pending,
    banned: "403 BANNED",
    host: OK,
    staff: NOT_MEMBER,
    otherHost: NOT_MEMBER,
  });

// ---- REST: (operation, caller kind) → outcome ------------------------------------------------

const REST_MATRIX: Record<string, Record<Kind, Outcome>> = {
  // Public operations: a token, good or bad, changes nothing (stale tokens are ignored).
  "GET /health/": everyone(OK),
  "GET /api/health/": everyone(OK),
  "GET /livez": everyone(OK),
  "GET /readyz": everyone(OK),
  "POST /api/auth/register/": everyone(CREATED),
  "POST /api/auth/login/": everyone(OK),
  "POST /api/auth/guest/": everyone(OK),
  "POST /api/auth/guest-login/": everyone(OK),
  // The caller presents its ACCESS token as the refresh token: never accepted.
  "POST /api/auth/refresh/": everyone("401 INVALID_TOKEN"),
  "GET /api/rooms/public/": everyone(OK),
  "GET /api/rooms/search/": everyone(OK),
  // Runs last: it revokes the caller's session (a bad or stale token simply gets 200).
  "POST /api/auth/logout/": everyone(OK),

  // The caller's own account.
  "GET /api/auth/me/": anySignedIn(OK),
  "POST /api/auth/set-username/": anySignedIn(OK),
  "POST /api/set-username/": anySignedIn(OK),
  "GET /api/rooms/mine/": anySignedIn(OK),
  // Resume is "as the original" (no membership check), but only ever the caller's own rows.
  "GET /api/rooms/{room_code}/resume/": anySignedIn(OK),

  "POST /api/rooms/create/": signedIn({
    guest: "403 AUTH_REQUIRED",
    nonMember: CREATED,
    participant: CREATED,
    pending: CREATED,
    banned: CREATED,
    host: CREATED,
    staff: CREATED,
    otherHost: CREATED,
  }),
  // Joining R: idempotent for members; newcomers wait for approval (undone after the cell).
  "POST /api/rooms/join/": signedIn({
    guest: OK,
    nonMember: OK,
    participant: OK,
    pending: OK,
    banned: "403 BANNED",
    host: OK,
    staff: OK,
    otherHost: OK,
  }),
  // Pending users get the reduced view (host, entry mode, privacy, state: see the check).
  "GET /api/rooms/{room_code}/detail/": membersOfR(OK),
  "POST /api/rooms/progress/save/": membersOfR(NOT_MEMBER),
  "GET /api/rooms/progress/get/": membersOfR(NOT_MEMBER),
  "GET /api/rooms/queue/": membersOfR(NOT_MEMBER),

  // Host-only operations on R (pending users may not approve themselves).
  "POST /api/rooms/approve/": hostOnly(OK),
  "POST /api/rooms/reject/": hostOnly(OK),
  "POST /api/rooms/delete/": hostOnly(OK),
  "POST /api/rooms/chat/": hostOnly(OK),
  "POST /api/rooms/slow-mode/": hostOnly(OK),
  "POST /api/rooms/password/": hostOnly(OK),
  "GET /api/rooms/participants/": hostOnly(OK),
  // The room's timeline: its host, and staff (who read any room's, as the staff tools do).
  "GET /api/rooms/{room_code}/events/": signedIn({
    guest: DENIED,
    nonMember: DENIED,
    participant: DENIED,
    pending: DENIED,
    banned: DENIED,
    host: OK,
    staff: OK,
    otherHost: DENIED,
  }),
  "POST /api/rooms/source/": hostOnly(OK),
  "POST /api/rooms/cohosts/": hostOnly(OK),
  "POST /api/rooms/invites/": hostOnly(CREATED),
  "GET /api/rooms/invites/": hostOnly(OK),
  "POST /api/rooms/invites/revoke/": hostOnly(OK),
  "POST /api/rooms/queue/settings/": hostOnly(OK),
  "POST /api/rooms/party/": hostOnly(OK),
  "POST /api/rooms/buffering/": hostOnly(OK),
  "POST /api/rooms/host-policy/": hostOnly(OK),
  "POST /api/rooms/persistent/": hostOnly(OK),
  // Only a host who lost R to succession, within the window: nobody here.
  "POST /api/rooms/reclaim-host/": signedIn({
    guest: DENIED,
    nonMember: DENIED,
    participant: DENIED,
    pending: DENIED,
    banned: DENIED,
    host: DENIED,
    staff: DENIED,
    otherHost: DENIED,
  }),

  // Staff-only operations.
  "GET /api/admin/rooms/": staffOnly(),
  "GET /api/admin/users/": staffOnly(),
  "POST /api/admin/rooms/expire/": staffOnly(),
  "POST /api/admin/rooms/delete/": staffOnly(),
};

// ---- sockets: connect, then (event, caller kind) → outcome -----------------------------------

/** Raw WebSocket: the close code. Socket.IO: connect_error data.code and message (the reason code). */
const CONNECT: Record<Kind, Outcome> = {
  anonymous: "4001 AUTH_REQUIRED",
  badToken: "4001 INVALID_TOKEN",
  expiredToken: "4001 INVALID_TOKEN",
  revokedToken: "4001 INVALID_TOKEN",
  guest: "joined",
  nonMember: "4003 NOT_A_PARTICIPANT",
  participant: "joined",
  pending: "4003 NOT_APPROVED",
  banned: "4010 BANNED",
  host: "joined",
  staff: "4003 NOT_A_PARTICIPANT",
  otherHost: "4003 NOT_A_PARTICIPANT",
};

/** Kinds that hold a socket: R's members, and the other host in its own room O. */
const SOCKET_KINDS = ["guest", "participant", "host", "otherHost"] as const;
type SocketKind = (typeof SOCKET_KINDS)[number];
const REFUSED_KINDS = KINDS.filter((k) => CONNECT[k] !== "joined");

const APPLIED = "applied";
const IGNORED = "ignored";
const NOT_HOST = "ERROR PERMISSION_DENIED";
const NOT_IN_ROOM = "ERROR PARTICIPANT_NOT_FOUND";
/** Everyone else never gets a socket: their frames, sent at once, are dropped unread. */
const ev = (guest: Outcome, participant: Outcome, host: Outcome, otherHost: Outcome): Record<Kind, Outcome> => ({
  ...(Object.fromEntries(REFUSED_KINDS.map((k) => [k, `no socket (${CONNECT[k]})`])) as Record<Kind, Outcome>),
  guest,
  participant,
  host,
  otherHost,
});

const EVENT_MATRIX: Record<string, Record<Kind, Outcome>> = {
  //                guest      participant  host      otherHost (in its own room O, aiming at R's users)
  CHAT_MESSAGE: ev(APPLIED, APPLIED, APPLIED, APPLIED),
  MUTE_USER: ev(NOT_HOST, NOT_HOST, APPLIED, NOT_IN_ROOM),
  UNMUTE_USER: ev(NOT_HOST, NOT_HOST, APPLIED, NOT_IN_ROOM),
  KICK_USER: ev(NOT_HOST, NOT_HOST, APPLIED, NOT_IN_ROOM),
  BAN_USER: ev(NOT_HOST, NOT_HOST, APPLIED, NOT_IN_ROOM),
  UNBAN_USER: ev(NOT_HOST, NOT_HOST, APPLIED, NOT_IN_ROOM),
  PLAY: ev(NOT_HOST, NOT_HOST, APPLIED, APPLIED),
  PAUSE: ev(NOT_HOST, NOT_HOST, APPLIED, APPLIED),
  SEEK: ev(NOT_HOST, NOT_HOST, APPLIED, APPLIED),
  SET_RATE: ev(NOT_HOST, NOT_HOST, APPLIED, APPLIED),
  UNDO_SEEK: ev(NOT_HOST, NOT_HOST, APPLIED, APPLIED), // (after SEEK: each undoes its room's seek)
  PLAYER_EVENT: ev(IGNORED, IGNORED, APPLIED, APPLIED), // the host's own events in its room (O gets media for the queue cells)
  SET_COHOST: ev(NOT_HOST, NOT_HOST, APPLIED, NOT_IN_ROOM),
  RECLAIM_HOST: ev(NOT_HOST, NOT_HOST, NOT_HOST, NOT_HOST), // nobody lost R to succession
  SET_PERSISTENT: ev(NOT_HOST, NOT_HOST, APPLIED, APPLIED), // each host keeps its own room (then lets it go)
  SET_BUFFERING_POLICY: ev(NOT_HOST, NOT_HOST, APPLIED, APPLIED), // each host sets its own room's (the default: no change in effect)
  SYNC_CHECK: ev(APPLIED, APPLIED, APPLIED, APPLIED),
  TIME_SYNC: ev(APPLIED, APPLIED, APPLIED, APPLIED),
  SYNC_REPORT: ev(APPLIED, APPLIED, APPLIED, APPLIED), // telemetry: recorded for any member
  REACTION: ev(APPLIED, APPLIED, APPLIED, APPLIED), // any member (muted ones: see reactions.test.ts)
  QUEUE_GET: ev(APPLIED, APPLIED, APPLIED, APPLIED),
  QUEUE_ADD: ev(NOT_HOST, NOT_HOST, APPLIED, APPLIED),
  SET_PARTY_TIME: ev(NOT_HOST, NOT_HOST, APPLIED, APPLIED), // a day ahead: nothing starts during the matrix
  QUEUE_REMOVE: ev(NOT_HOST, NOT_HOST, APPLIED, APPLIED), // each aims at an item of its room (seeded)
  QUEUE_MOVE: ev(NOT_HOST, NOT_HOST, APPLIED, APPLIED),
  NEXT: ev(NOT_HOST, NOT_HOST, APPLIED, APPLIED),
  VOTE_SKIP: ev(APPLIED, APPLIED, APPLIED, APPLIED),
  REAUTH: ev(APPLIED, APPLIED, APPLIED, APPLIED), // each with its own token (another's: see token-expiry.test.ts)
};

// ---- the fixture ----------------------------------------------------------------------------

interface Account {
  id: string;
  token: string;
  refresh: string;
  username: string;
}
interface RoomRef {
  room_id: string;
  code: string;
}
interface Fixture {
  accounts: Record<Exclude<Kind, "anonymous" | "badToken">, Account>;
  victim: Account;
  /** An approved member of R who only watches (the socket suites' observer). */
  watcher: Account;
  loginee: Account & { email: string; password: string };
  tokens: Record<Kind, string | undefined>;
  room: RoomRef;
  pwRoom: RoomRef;
  otherRoom: RoomRef;
  /** Every password RP has had (only its host may ever see one). */
  pwRoomPasswords: string[];
  /** The host's socket from the set-up (the ban), open until the socket suites start. */
  setupHost?: TestClient | undefined;
}

const SECRET_VIDEO = `authz-secret-${randomBytes(4).toString("hex")}`;
/** Each member's progress in R; distinctive values, so a leak shows up anywhere as text. */
const PROGRESS: Partial<Record<Kind, { timestamp: number; duration: number; progress_percent: number }>> = {
  host: { timestamp: 1111.0625, duration: 5000, progress_percent: 22.2 },
  participant: { timestamp: 2222.125, duration: 5000, progress_percent: 44.4 },
  guest: { timestamp: 3333.1875, duration: 5000, progress_percent: 66.6 },
  banned: { timestamp: 4444.3125, duration: 5000, progress_percent: 88.8 },
};

let t: TestApp;
let tmdb: TmdbStub;
let f: Fixture;
/** Every 2xx body and socket message each kind received, for the leak checks. */
const received: { kind: Kind; where: string; text: string }[] = [];

const account = (kind: Kind): Account | undefined => (kind === "anonymous" || kind === "badToken" ? undefined : f.accounts[kind]);
const idOf = (kind: Kind): string => account(kind)?.id ?? "";
const roomOf = (kind: SocketKind): RoomRef => (kind === "otherHost" ? f.otherRoom : f.room);

beforeAll(async () => {
  tmdb = await startTmdbStub();
  t = await startApp({ TMDB_API_KEY: "stub-key", TMDB_BASE_URL: tmdb.url });
  const tag = randomBytes(3).toString("hex");
  const register = async (name: string) => {
    const r = await t.api.register(`${name}${tag}`);
    return { id: r.id, token: r.token, refresh: r.refresh_token, username: r.username, email: r.email, password: r.password };
  };
  const [host, participant, pending, banned, nonMember, staff, otherHost, expiredUser, revokedUser, victim, watcher, loginee] =
    await Promise.all(["host", "part", "pend", "bann", "nonm", "staf", "ohst", "expd", "revk", "vict", "wtch", "logn"].map(register));
  const g = await t.api.guest(`guest${tag}`);
  const guest: Account = { id: g.id, token: g.token, refresh: g.refresh_token, username: g.username };
  // What createsuperuser does to the account (test/admin.test.ts runs the command itself).
  await t.app.database.db.updateTable("users").set({ is_staff: true, is_superuser: true }).where("id", "=", staff!.id).execute();

  const room = await t.api.createRoom(host!.token, { is_private: true, entry_mode: "APPROVAL" });
  const pwRoom = await t.api.createRoom(host!.token, { is_private: true, entry_mode: "PASSWORD" });
  const otherRoom = await t.api.createRoom(otherHost!.token, { is_private: false });
  const source = await t.api.post(
    "/api/rooms/source/",
    { room_id: room.room_id, provider: "vidking", video_id: SECRET_VIDEO, media_type: "movie" },
    { token: host!.token },
  );
  expect(source.status).toBe(200);

  for (const member of [participant!, guest, pending!, banned!, expiredUser!, revokedUser!, victim!, watcher!]) {
    expect((await t.api.join(member.token, room.code)).body.status).toBe("PENDING");
    if (member === pending) continue;
    expect((await t.api.post("/api/rooms/approve/", { room_id: room.room_id, user_id: member.id }, { token: host!.token })).status).toBe(
      200,
    );
  }
  const saveProgress = async (kind: Kind, token: string) => {
    const res = await t.api.post(
      "/api/rooms/progress/save/",
      { room_id: room.room_id, media_id: SECRET_VIDEO, media_type: "movie", ...PROGRESS[kind] },
      { token },
    );
    expect(res.status).toBe(200);
  };
  await saveProgress("host", host!.token);
  await saveProgress("participant", participant!.token);
  await saveProgress("guest", guest.token);
  await saveProgress("banned", banned!.token);

  // The ban, as a host really bans: over its socket (the host stays connected until the socket suites).
  const setupHost = rawClient(t.baseUrl, room.code, host!.token);
  await setupHost.drainJoin();
  setupHost.send({ type: "BAN_USER", user_id: banned!.id });
  setupHost.send({ type: "TIME_SYNC", client_ts: -1 });
  const beforeProbe = await collectUntilProbe(setupHost, -1);
  expect(beforeProbe.filter((m) => m.type === "ERROR")).toEqual([]);

  expect((await t.api.post("/api/auth/logout/", {}, { token: revokedUser!.token })).status).toBe(200);

  f = {
    accounts: {
      expiredToken: { ...expiredUser!, token: forge(expiredUser!.token, { expiresAgoSeconds: 3600 }) },
      revokedToken: revokedUser!,
      guest,
      nonMember: nonMember!,
      participant: participant!,
      pending: pending!,
      banned: banned!,
      host: host!,
      staff: staff!,
      otherHost: otherHost!,
    },
    victim: victim!,
    watcher: watcher!,
    loginee: loginee!,
    tokens: {} as Record<Kind, string | undefined>,
    room,
    pwRoom,
    otherRoom,
    pwRoomPasswords: [pwRoom.room_password!],
    setupHost,
  };
  for (const kind of KINDS) f.tokens[kind] = kind === "badToken" ? "not-a-jwt" : account(kind)?.token;
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await tmdb?.close();
});

/** Re-signs a real token's claims with the server's secret (or another), exp moved to the past or future. */
function forge(token: string, opts: { expiresAgoSeconds?: number; expiresInSeconds?: number; secret?: string }): string {
  const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
  const now = Math.floor(Date.now() / 1000);
  const exp = opts.expiresAgoSeconds !== undefined ? now - opts.expiresAgoSeconds : now + (opts.expiresInSeconds ?? 3600);
  const sign = createSigner({ key: opts.secret ?? t.config.JWT_SECRET, algorithm: "HS256" });
  return sign({ ...claims, jti: randomUUID(), iat: Math.min(now, exp) - 60, exp });
}

// ---- the watched state ----------------------------------------------------------------------

/** Everything a refused call must leave alone, for R and RP. */
async function snapshot() {
  const db = t.app.database.db;
  const ids = [f.room.room_id, f.pwRoom.room_id];
  const count = (table: "chat_messages" | "room_events") =>
    db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll().as("n"))
      .where("room_id", "in", ids)
      .executeTakeFirstOrThrow()
      .then((r) => String(r.n));
  const members = [...Object.values(f.accounts), f.victim, f.watcher].map((a) => a.id);
  const [rooms, playback, participants, bans, progress, chat, audit, online, muted, invites, queue] = await Promise.all([
    db.selectFrom("rooms").selectAll().where("id", "in", ids).orderBy("id").execute(),
    db.selectFrom("playback_states").selectAll().where("room_id", "in", ids).orderBy("room_id").execute(),
    db.selectFrom("room_participants").selectAll().where("room_id", "in", ids).orderBy("room_id").orderBy("user_id").execute(),
    db.selectFrom("room_bans").selectAll().where("room_id", "in", ids).orderBy("room_id").orderBy("user_id").execute(),
    db.selectFrom("watch_progress").selectAll().where("room_id", "in", ids).orderBy("id").execute(),
    count("chat_messages"),
    count("room_events"),
    t.app.realtime.state.presence.onlineUsers(f.room.room_id).then((s) => [...s].sort()),
    Promise.all(members.map((id) => t.app.realtime.state.mutes.isMuted(f.room.room_id, id))).then((m) => members.filter((_, i) => m[i])),
    db.selectFrom("room_invites").selectAll().where("room_id", "in", ids).orderBy("id").execute(),
    db.selectFrom("room_queue_items").selectAll().where("room_id", "in", ids).orderBy("id").execute(),
  ]);
  return { rooms, playback, participants, bans, progress, chat, audit, online, muted, invites, queue };
}
type Snapshot = Awaited<ReturnType<typeof snapshot>>;

function changedParts(before: Snapshot, after: Snapshot): string[] {
  return (Object.keys(before) as (keyof Snapshot)[]).filter((k) => !isDeepStrictEqual(before[k], after[k]));
}

// ---- REST: how each operation is called --------------------------------------------------------

interface RestRequest {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}
interface RestCall {
  /** The request a caller kind sends (it may first create a throwaway target for the allowed caller). */
  request(kind: Kind): RestRequest | Promise<RestRequest>;
  /** Allowed calls change the watched state on purpose: no before/after comparison for them. */
  mutates?: boolean;
  /** More checks on a 2xx body (ownership, shape, no leaks): a problem, or undefined. */
  check?(kind: Kind, body: any): string | undefined;
  /** After an allowed call: puts the fixture back. */
  undo?(kind: Kind, body: any): Promise<void>;
}

let serial = 0;
const fresh = () => `${Date.now().toString(36)}${(serial += 1)}`;
/** A guest who asks to join R: a target for the host's approve/reject. */
async function pendingSpare(): Promise<string> {
  const spare = await t.api.guest(`spare${fresh()}`);
  expect((await t.api.join(spare.token, f.room.code)).body.status).toBe("PENDING");
  return spare.id;
}
const progressQuery = () => ({ room_id: f.room.room_id, media_id: SECRET_VIDEO, media_type: "movie" });
const ownProgress = (kind: Kind, body: any, field: string) => {
  const own = PROGRESS[kind]?.timestamp ?? 0;
  return body[field] === own ? undefined : `${field} ${body[field]} is not the caller's own (${own})`;
};
const MINE_KEYS = ["code", "created_at", "entry_mode", "is_host", "is_private", "room_id", "state", "status"].join();
const MEMBERSHIP_OF_R: Partial<Record<Kind, string>> = { guest: "APPROVED", participant: "APPROVED", pending: "PENDING", host: "APPROVED" };
const JOIN_STATUS: Partial<Record<Kind, string>> = {
  guest: "APPROVED",
  nonMember: "PENDING",
  participant: "APPROVED",
  pending: "PENDING",
  host: "APPROVED",
  staff: "PENDING",
  otherHost: "PENDING",
};

const REST_CALLS: Record<string, RestCall> = {
  "GET /health/": { request: () => ({}) },
  "GET /api/health/": { request: () => ({}) },
  "GET /livez": { request: () => ({}) },
  "GET /readyz": { request: () => ({}) },
  "POST /api/auth/register/": {
    request: () => ({ body: { email: `reg${fresh()}@example.com`, password: "correct horse battery", display_name: "Registrant" } }),
  },
  "POST /api/auth/login/": {
    request: () => ({ body: { email: f.loginee.email, password: f.loginee.password } }),
    check: (_kind, body) => (body.id === f.loginee.id ? undefined : "logged in as someone else"),
  },
  "POST /api/auth/guest/": { request: () => ({ body: { display_name: "Walk-in" } }) },
  "POST /api/auth/guest-login/": { request: () => ({ body: {} }) },
  "POST /api/auth/refresh/": { request: (kind) => ({ body: { refresh_token: f.tokens[kind] ?? "not-a-refresh-token" } }) },
  "GET /api/rooms/public/": {
    request: () => ({}),
    check: (_kind, body) =>
      body.some((r: any) => r.code === f.room.code || r.code === f.pwRoom.code) ? "lists a private room" : undefined,
  },
  "GET /api/rooms/search/": { request: () => ({ query: { q: "matrix" } }) },
  "POST /api/auth/logout/": { request: () => ({ body: {} }), mutates: true },

  "GET /api/auth/me/": {
    request: () => ({}),
    check: (kind, body) => (body.id === idOf(kind) && !("password_hash" in body) ? undefined : "not the caller's own account"),
  },
  "POST /api/auth/set-username/": { request: (kind) => ({ body: { username: account(kind)?.username ?? "someone" } }) },
  "POST /api/set-username/": { request: (kind) => ({ body: { username: account(kind)?.username ?? "someone" } }) },
  "GET /api/rooms/mine/": {
    request: () => ({}),
    check: (kind, body) => {
      const entry = body.find((r: any) => r.room_id === f.room.room_id);
      const status = MEMBERSHIP_OF_R[kind];
      if (!status) return entry ? "lists R, which it does not belong to" : undefined;
      if (!entry) return "its own membership of R is missing";
      if (entry.status !== status) return `status ${entry.status}, expected ${status}`;
      if (Object.keys(entry).sort().join() !== MINE_KEYS) return `unexpected keys ${Object.keys(entry)}`;
      return undefined;
    },
  },
  "GET /api/rooms/{room_code}/resume/": {
    request: () => ({ params: { room_code: f.room.code } }),
    check: (kind, body) => ownProgress(kind, body, "last_position_seconds"),
  },
  "POST /api/rooms/create/": {
    request: () => ({ body: { is_private: false } }),
    check: (_kind, body) => (typeof body.room_id === "string" ? undefined : "no room_id"),
  },
  "POST /api/rooms/join/": {
    request: () => ({ body: { code: f.room.code } }),
    mutates: true,
    check: (kind, body) => {
      if (Object.keys(body).sort().join() !== "code,is_host,room_id,status") return `unexpected keys ${Object.keys(body)}`;
      if (body.status !== JOIN_STATUS[kind]) return `status ${body.status}, expected ${JOIN_STATUS[kind]}`;
      return body.is_host === (kind === "host") ? undefined : "wrong is_host";
    },
    // A newcomer's request is withdrawn again, so that it stays a non-member for the other rows.
    async undo(kind, body) {
      if (body.status !== "PENDING" || kind === "pending") return;
      const res = await t.api.post(
        "/api/rooms/reject/",
        { room_id: f.room.room_id, user_id: idOf(kind) },
        { token: f.accounts.host.token },
      );
      expect(res.status).toBe(200);
    },
  },
  "GET /api/rooms/{room_code}/detail/": {
    request: () => ({ params: { room_code: f.room.code } }),
    check: (kind, body) => {
      if (body.room_id !== f.room.room_id || body.is_host !== (kind === "host")) return "wrong room or is_host";
      const reduced = [
        "participant_status",
        "room_id",
        "code",
        "state",
        "is_active",
        "is_private",
        "entry_mode",
        "host",
        "created_at",
        "is_host",
      ];
      if (kind === "pending")
        return body.participant_status === "PENDING" && isDeepStrictEqual(Object.keys(body).sort(), reduced.sort())
          ? undefined
          : "a pending user's detail must be the reduced view";
      return body.participant_status === "APPROVED" ? undefined : "an approved member's detail must be the whole room";
    },
  },
  "POST /api/rooms/progress/save/": {
    request: (kind) => ({
      body: { ...progressQuery(), ...(PROGRESS[kind] ?? { timestamp: 9999.5, duration: 10_000, progress_percent: 99 }) },
    }),
    mutates: true, // same values again, but a new updated_at
    check: (kind, body) => ownProgress(kind, body, "timestamp"),
  },
  "GET /api/rooms/progress/get/": {
    request: () => ({ query: progressQuery() }),
    check: (kind, body) => ownProgress(kind, body, "timestamp"),
  },
  "GET /api/rooms/queue/": {
    request: () => ({ query: { room_id: f.room.room_id } }),
    check: (_kind, body) => (body.room_id === f.room.room_id && Array.isArray(body.items) ? undefined : "not R's queue"),
  },
  // A day ahead, so nothing starts while the matrix runs.
  "POST /api/rooms/party/": {
    request: () => ({ body: { room_id: f.room.room_id, starts_at: new Date(Date.now() + 86_400_000).toISOString() } }),
    mutates: true,
  },
  // The threshold it has: allowed, no change.
  "POST /api/rooms/queue/settings/": {
    request: () => ({ body: { room_id: f.room.room_id, skip_threshold_percent: 50 } }),
    mutates: true,
  },

  // The policy it has: allowed, no change.
  "POST /api/rooms/buffering/": {
    request: () => ({ body: { room_id: f.room.room_id, policy: "never" } }),
    mutates: true,
  },

  "POST /api/rooms/approve/": {
    request: async (kind) => ({
      body: { room_id: f.room.room_id, user_id: kind === "host" ? await pendingSpare() : f.accounts.pending.id },
    }),
    mutates: true,
  },
  "POST /api/rooms/reject/": {
    request: async (kind) => ({
      body: { room_id: f.room.room_id, user_id: kind === "host" ? await pendingSpare() : f.accounts.pending.id },
    }),
    mutates: true,
  },
  "POST /api/rooms/delete/": {
    request: async (kind) => ({
      body: { room_id: kind === "host" ? (await t.api.createRoom(f.accounts.host.token)).room_id : f.room.room_id },
    }),
    check: (_kind, body) => (body.state === "DELETED" ? undefined : `state ${body.state}`),
  },
  "POST /api/rooms/chat/": { request: () => ({ body: { room_id: f.room.room_id, enabled: true } }), mutates: true },
  "POST /api/rooms/invites/": {
    request: () => ({ body: { room_id: f.room.room_id, max_uses: 1 } }),
    mutates: true,
    check: (_kind, body) => (body.room_id === f.room.room_id && typeof body.token === "string" ? undefined : "no invite for R"),
    // Revoked at once: nobody may use the matrix's invites.
    undo: async (_kind, body) => {
      await t.api.post(
        "/api/rooms/invites/revoke/",
        { room_id: f.room.room_id, invite_id: body.invite_id },
        { token: f.accounts.host.token },
      );
    },
  },
  "GET /api/rooms/invites/": {
    request: () => ({ query: { room_id: f.room.room_id } }),
    check: (_kind, body) => (Array.isArray(body) && body.every((i: any) => !("token" in i)) ? undefined : "a list with tokens"),
  },
  "POST /api/rooms/invites/revoke/": {
    // Each caller aims at a fresh invite of R, made by its host.
    request: async () => {
      const made = await t.api.post("/api/rooms/invites/", { room_id: f.room.room_id, max_uses: 1 }, { token: f.accounts.host.token });
      expect(made.status).toBe(201);
      return { body: { room_id: f.room.room_id, invite_id: made.body.invite_id } };
    },
    mutates: true,
    check: (_kind, body) => (body.revoked === true && body.invite.active === false ? undefined : "not revoked"),
  },
  // Un-naming a co-host who is not one, and setting the policy it has: allowed, no change.
  "POST /api/rooms/cohosts/": {
    request: () => ({ body: { room_id: f.room.room_id, user_id: f.accounts.participant.id, cohost: false } }),
    check: (_kind, body) => (body.room_id === f.room.room_id && body.cohosts.length === 0 ? undefined : "wrong roles"),
  },
  "POST /api/rooms/host-policy/": {
    request: () => ({ body: { room_id: f.room.room_id, succession: "EXPIRE" } }),
    check: (_kind, body) => (body.succession === "EXPIRE" ? undefined : "wrong policy"),
  },
  "POST /api/rooms/reclaim-host/": { request: () => ({ body: { room_id: f.room.room_id } }) },
  // Making an ordinary room ordinary: allowed, no change.
  "POST /api/rooms/persistent/": {
    request: () => ({ body: { room_id: f.room.room_id, persistent: false } }),
    check: (_kind, body) => (body.room_id === f.room.room_id && body.is_persistent === false ? undefined : "wrong answer"),
  },
  "POST /api/rooms/slow-mode/": { request: () => ({ body: { room_id: f.room.room_id, seconds: 0 } }), mutates: true },
  "POST /api/rooms/password/": {
    request: () => ({ body: { room_id: f.pwRoom.room_id } }),
    mutates: true,
    check: (_kind, body) => {
      f.pwRoomPasswords.push(body.room_password);
      return body.room_id === f.pwRoom.room_id ? undefined : "another room";
    },
  },
  "GET /api/rooms/participants/": {
    request: () => ({ query: { room_id: f.room.room_id } }),
    check: (_kind, body) => {
      const ids = body.map((p: any) => p.id);
      return ids.includes(f.accounts.pending.id) && ids.includes(f.accounts.participant.id) ? undefined : "incomplete list";
    },
  },
  "POST /api/rooms/source/": {
    request: () => ({ body: { room_id: f.room.room_id, provider: "vidking", video_id: SECRET_VIDEO, media_type: "movie" } }),
    mutates: true,
  },
  "GET /api/rooms/{room_code}/events/": {
    request: () => ({ params: { room_code: f.room.code } }),
    check: (_kind, body) => {
      const events = body.events.map((e: any) => e.event);
      return events.at(-1) === "room.created" && events.includes("moderation.banned") ? undefined : `not R's timeline: ${events}`;
    },
  },

  "GET /api/admin/rooms/": { request: () => ({}) },
  "GET /api/admin/users/": { request: () => ({}) },
  "POST /api/admin/rooms/expire/": {
    request: async (kind) => {
      if (kind !== "staff") return { body: { room_id: f.room.room_id } };
      const throwaway = await t.api.createRoom(f.accounts.host.token);
      await markLive(t.app.database.db, throwaway.room_id);
      return { body: { room_id: throwaway.room_id } };
    },
    check: (_kind, body) => (body.state === "EXPIRED" ? undefined : `state ${body.state}`),
  },
  "POST /api/admin/rooms/delete/": {
    request: async (kind) => ({
      body: { room_id: kind === "staff" ? (await t.api.createRoom(f.accounts.host.token)).room_id : f.room.room_id },
    }),
    check: (_kind, body) => (body.state === "DELETED" ? undefined : `state ${body.state}`),
  },
};

const LAST_ROWS = new Set(["POST /api/auth/logout/"]);

function callRest(op: string, req: RestRequest, kind: Kind): Promise<ApiResponse> {
  const [method, template] = op.split(" ") as [string, string];
  let path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(req.params?.[name] ?? ""));
  if (req.query) path += `?${new URLSearchParams(req.query)}`;
  return t.api.request(method, path, method === "GET" ? undefined : (req.body ?? {}), { token: f.tokens[kind] });
}

const outcomeOf = (res: ApiResponse): Outcome => (res.status < 400 ? String(res.status) : `${res.status} ${res.body?.code}`);

/** Runs one row: every kind's cell; returns the mismatches (cell, expected, got, why). */
async function runRestRow(op: string): Promise<string[]> {
  const call = REST_CALLS[op]!;
  const mismatches: string[] = [];
  for (const kind of KINDS) {
    const cell = `${op} × ${kind}`;
    const expected = REST_MATRIX[op]![kind];
    const req = await call.request(kind);
    const before = await snapshot();
    const res = await callRest(op, req, kind);
    const got = outcomeOf(res);
    const allowed = res.status < 400;
    if (got !== expected) mismatches.push(`${cell}: expected ${expected}, got ${got} ${res.text.slice(0, 300)}`);
    else if (allowed) {
      const problem = call.check?.(kind, res.body);
      if (problem) mismatches.push(`${cell}: ${problem}`);
    } else if (typeof res.body?.error !== "string") mismatches.push(`${cell}: error body without "error": ${res.text.slice(0, 200)}`);
    if (allowed) received.push({ kind, where: op, text: res.text });
    if (allowed && got === expected && call.mutates) {
      await call.undo?.(kind, res.body);
    } else {
      const changed = changedParts(before, await snapshot());
      const by = !allowed ? "a refused call" : got === expected ? "a read" : "a call that should have been refused";
      if (changed.length) mismatches.push(`${cell}: state changed by ${by}: ${changed.join(", ")}`);
    }
  }
  return mismatches;
}

// ---- socket helpers ---------------------------------------------------------------------------

type Transport = "ws" | "socket.io";
type SioClient = ReturnType<typeof sioClient>;
const open = (transport: Transport, code: string, token: string | undefined): TestClient =>
  transport === "ws" ? rawClient(t.baseUrl, code, token ?? null) : sioClient(t.baseUrl, code, token ?? null);

let probes = 0;
/** Reads a raw client's messages until the TIME_SYNC answer to `probe` (sent after the command). */
async function collectUntilProbe(client: TestClient, probe: number): Promise<Message[]> {
  const seen: Message[] = [];
  for (;;) {
    const message = await client.next();
    if (message.type === "TIME_SYNC" && message.client_ts === probe) return seen;
    seen.push(message);
  }
}

/** True once a message matching `match` is (or was, in `seen`) received within `waitMs`. */
async function sees(client: TestClient, seen: Message[], match: (m: Message) => boolean, waitMs: number): Promise<boolean> {
  if (seen.some(match)) return true;
  const deadline = Date.now() + waitMs;
  try {
    while (Date.now() < deadline) if (match(await client.next(undefined, deadline - Date.now()))) return true;
  } catch {
    // timed out
  }
  return false;
}

const within = <T>(promise: Promise<T>, ms: number): Promise<T | undefined> =>
  Promise.race([promise, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref())]);

/** Waits until a roster seen by `client` has exactly `online` connected (earlier suites' leaves are done). */
async function settleRoster(client: TestClient, first: Message, online: string[]): Promise<void> {
  const want = [...online].sort().join();
  let roster = first;
  while (
    (roster.members as { id: string; online: boolean }[])
      .filter((m) => m.online)
      .map((m) => m.id)
      .sort()
      .join() !== want
  ) {
    roster = await client.waitFor("ROOM_PARTICIPANTS", 10_000);
  }
}

async function joined(client: TestClient): Promise<Message> {
  const [, , roster] = await client.drainJoin();
  return roster!;
}

const isBannedFromR = async (userId: string) =>
  (await t.app.database.db
    .selectFrom("room_bans")
    .select("user_id")
    .where("room_id", "=", f.room.room_id)
    .where("user_id", "=", userId)
    .executeTakeFirst()) !== undefined;

const lastProgressWrite = async (kind: SocketKind): Promise<number> => {
  const row = await t.app.database.db
    .selectFrom("watch_progress")
    .select((eb) => eb.fn.max("updated_at").as("at"))
    .where("user_id", "=", idOf(kind))
    .where("room_id", "=", roomOf(kind).room_id)
    .executeTakeFirst();
  return row?.at ? new Date(row.at as Date).getTime() : 0;
};

interface EventRun {
  kind: SocketKind;
  client: TestClient;
  payload: Record<string, any>;
  /** Messages the raw client read before its probe's answer. */
  seen: Message[];
  victim?: TestClient | undefined;
  stamp: number;
  waitMs: number;
}
interface EventCall {
  payload(kind: SocketKind): Record<string, unknown>;
  /** The host's kick and ban need the victim online. */
  needsVictim?: boolean;
  /** Applying it in R changes R's watched state (so no before/after comparison then). */
  mutates?: boolean;
  /** Proof that the command took effect. */
  applied(run: EventRun): Promise<boolean>;
}

/**
 * Queue items seeded in R and O for the socket suites (src: their queues in the database), by
 * room id, head first: a refused caller aims at one that stays, an allowed one at the last.
 */
const queues = new Map<string, string[]>();
async function seedQueue(room: RoomRef, count: number): Promise<void> {
  const db = t.app.database.db;
  const { n } = await db
    .selectFrom("room_queue_items")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("room_id", "=", room.room_id)
    .executeTakeFirstOrThrow();
  const rows = await db
    .insertInto("room_queue_items")
    .values(
      Array.from({ length: count }, (_, i) => ({
        room_id: room.room_id,
        position: Number(n) + i,
        provider: "direct",
        video_id: `https://media.example/seed-${i}.webm`,
      })),
    )
    .returning("id")
    .execute();
  queues.set(room.room_id, [...(queues.get(room.room_id) ?? []), ...rows.map((r) => r.id)]);
}
/** An item of the caller's room: the host and the other host take (and use up) the last one. */
function queuedItem(kind: SocketKind): string {
  const pool = queues.get(roomOf(kind).room_id) ?? [];
  if (kind !== "host" && kind !== "otherHost") return pool[0] ?? randomUUID();
  return pool.pop() ?? randomUUID();
}

/** Non-hosts aim at R's host (and unban the banned user); the other host aims at R's users from O. */
const moderationTarget = (kind: SocketKind): string =>
  kind === "host" ? f.victim.id : kind === "otherHost" ? f.accounts.participant.id : f.accounts.host.id;
let stamp = 100;
let cohostToggle = false;
const persistToggle: Partial<Record<SocketKind, boolean>> = {};
const playback = (type: "PLAY" | "PAUSE" | "SEEK"): EventCall => ({
  payload: () => ({ time: (stamp += 1) }),
  mutates: true,
  applied: ({ client, seen, payload, waitMs }) =>
    sees(client, seen, (m) => m.type === "PLAYBACK_STATE" && m.time === payload.time && m.is_playing === (type === "PLAY"), waitMs),
});
let rateStep = 0;
/** A rate unlike the previous call's (0.5–2 in quarter steps), so the state it yields is its own. */
const nextRate = () => 0.5 + (rateStep++ % 7) * 0.25;
const removal = (ban: boolean): EventCall => ({
  payload: (kind) => ({ user_id: moderationTarget(kind) }),
  needsVictim: true,
  mutates: true,
  applied: async ({ client, seen, victim, waitMs }) => {
    const closed = victim ? await within(victim.closed, waitMs) : undefined;
    if (closed?.code !== 4011) return false;
    if (ban && !(await isBannedFromR(f.victim.id))) return false;
    // The leave has run (presence, roster) once the host sees the victim go.
    return sees(client, seen, (m) => m.type === "USER_LEFT" && m.user_id === f.victim.id, waitMs);
  },
});
const mute = (muted: boolean): EventCall => ({
  payload: (kind) => ({ user_id: moderationTarget(kind) }),
  mutates: true,
  applied: ({ client, seen, payload, waitMs }) =>
    sees(client, seen, (m) => m.type === "USER_MUTED" && m.user_id === payload.user_id && m.muted === muted, waitMs),
});

const EVENT_CALLS: Record<string, EventCall> = {
  CHAT_MESSAGE: {
    payload: (kind) => ({ message: `authz ${kind} ${fresh()}` }),
    mutates: true,
    applied: ({ kind, client, seen, payload, waitMs }) =>
      sees(client, seen, (m) => m.type === "CHAT_MESSAGE" && m.message === payload.message && m.user_id === idOf(kind), waitMs),
  },
  MUTE_USER: mute(true),
  UNMUTE_USER: mute(false),
  KICK_USER: removal(false),
  BAN_USER: removal(true),
  UNBAN_USER: {
    payload: (kind) => ({ user_id: kind === "host" ? f.victim.id : f.accounts.banned.id }),
    mutates: true,
    applied: async ({ payload }) => !(await isBannedFromR(payload.user_id)),
  },
  PLAY: playback("PLAY"),
  PAUSE: playback("PAUSE"),
  SEEK: playback("SEEK"),
  SET_RATE: {
    payload: () => ({ rate: nextRate() }),
    mutates: true,
    applied: ({ client, seen, payload, waitMs }) =>
      sees(client, seen, (m) => m.type === "PLAYBACK_STATE" && m.rate === payload.rate, waitMs),
  },
  UNDO_SEEK: {
    payload: () => ({}),
    mutates: true,
    // The PLAYBACK_STATE of the undo the timeline recorded last in the sender's room.
    applied: async ({ kind, client, seen, waitMs }) => {
      const undo = await t.app.database.db
        .selectFrom("room_events")
        .select("data")
        .where("room_id", "=", roomOf(kind).room_id)
        .where("event", "=", "playback.seek_undone")
        .orderBy("seq", "desc")
        .executeTakeFirst();
      if (!undo) return false;
      return sees(client, seen, (m) => m.type === "PLAYBACK_STATE" && m.version === undo.data.version && m.time === undo.data.to, waitMs);
    },
  },
  PLAYER_EVENT: {
    // The host's own figures again: its stored progress keeps its values.
    payload: () => ({
      data: {
        event: "pause",
        currentTime: PROGRESS.host!.timestamp,
        duration: PROGRESS.host!.duration,
        progress: PROGRESS.host!.progress_percent,
      },
    }),
    mutates: true,
    applied: async ({ kind, stamp: before }) => (await lastProgressWrite(kind)) > before,
  },
  // The host's runs name the victim a co-host, then un-name them (one run per transport).
  SET_COHOST: {
    payload: (kind) => ({ user_id: moderationTarget(kind), cohost: kind === "host" ? (cohostToggle = !cohostToggle) : true }),
    mutates: true,
    applied: ({ client, seen, payload, waitMs }) =>
      sees(client, seen, (m) => m.type === "COHOSTS_CHANGED" && m.cohosts.includes(payload.user_id) === payload.cohost, waitMs),
  },
  RECLAIM_HOST: { payload: () => ({}), applied: async () => false },
  // Each host's runs keep its room, then make it ordinary again (one run per transport).
  SET_BUFFERING_POLICY: {
    payload: () => ({ policy: "never", max_wait_seconds: 1 + ((stamp += 1) % 120) }),
    mutates: true,
    applied: ({ client, seen, payload, waitMs }) =>
      sees(client, seen, (m) => m.type === "BUFFERING_POLICY" && m.max_wait_seconds === payload.max_wait_seconds, waitMs),
  },
  SET_PERSISTENT: {
    payload: (kind) => ({ persistent: (persistToggle[kind] = !persistToggle[kind]) }),
    mutates: true,
    applied: ({ client, seen, payload, waitMs }) =>
      sees(client, seen, (m) => m.type === "ROOM_PERSISTENCE" && m.is_persistent === payload.persistent, waitMs),
  },
  SYNC_CHECK: {
    payload: () => ({ client_time: 9_999_999 }),
    applied: ({ client, seen, waitMs }) => sees(client, seen, (m) => m.type === "SYNC_CORRECTION", waitMs),
  },
  TIME_SYNC: {
    payload: () => ({ client_ts: 770_000 + (stamp += 1) }),
    applied: ({ client, seen, payload, waitMs }) =>
      sees(client, seen, (m) => m.type === "TIME_SYNC" && m.client_ts === payload.client_ts, waitMs),
  },
  REAUTH: {
    payload: (kind) => ({ token: account(kind)!.token }),
    applied: ({ client, seen, waitMs }) => sees(client, seen, (m) => m.type === "REAUTHED", waitMs),
  },
  REACTION: {
    payload: () => ({ emoji: "👏" }),
    applied: ({ kind, client, seen, waitMs }) =>
      sees(client, seen, (m) => m.type === "REACTION" && m.emoji === "👏" && m.user_id === idOf(kind), waitMs),
  },
  SET_PARTY_TIME: {
    payload: () => ({ starts_at: new Date(Date.now() + 86_400_000 + (serial += 1) * 1000).toISOString() }),
    mutates: true,
    applied: ({ client, seen, payload, waitMs }) =>
      sees(client, seen, (m) => m.type === "PARTY_STARTS_AT" && m.starts_at === payload.starts_at, waitMs),
  },
  QUEUE_GET: {
    payload: () => ({}),
    applied: ({ client, seen, waitMs }) => sees(client, seen, (m) => m.type === "QUEUE_UPDATED", waitMs),
  },
  QUEUE_ADD: {
    payload: () => ({ provider: "direct", video_id: `https://media.example/authz-${fresh()}.webm` }),
    mutates: true,
    applied: ({ client, seen, payload, waitMs }) =>
      sees(client, seen, (m) => m.type === "QUEUE_UPDATED" && m.items.some((i: any) => i.video_id === payload.video_id), waitMs),
  },
  QUEUE_REMOVE: {
    payload: (kind) => ({ item_id: queuedItem(kind) }),
    mutates: true,
    applied: ({ client, seen, payload, waitMs }) =>
      sees(client, seen, (m) => m.type === "QUEUE_UPDATED" && !m.items.some((i: any) => i.id === payload.item_id), waitMs),
  },
  QUEUE_MOVE: {
    // Taken from the pool: it is the head now, and the NEXT cell plays it.
    payload: (kind) => ({ item_id: queuedItem(kind), to: 0 }),
    mutates: true,
    applied: ({ client, seen, payload, waitMs }) =>
      sees(client, seen, (m) => m.type === "QUEUE_UPDATED" && m.items[0]?.id === payload.item_id, waitMs),
  },
  NEXT: {
    payload: () => ({}),
    mutates: true,
    applied: ({ client, seen, waitMs }) => sees(client, seen, (m) => m.type === "SOURCE_CHANGED", waitMs),
  },
  VOTE_SKIP: {
    payload: () => ({}),
    // A vote may pass (few are online in R) and play R's next item.
    mutates: true,
    applied: ({ client, seen, waitMs }) => sees(client, seen, (m) => m.type === "VOTE_SKIP_UPDATED" && m.votes >= 1, waitMs),
  },
  SYNC_REPORT: {
    payload: () => ({ position: 3, rtt_ms: 40, buffering: true }),
    // Proof: the caller's latest report in its room's realtime state is this one.
    applied: async ({ kind, stamp: before, waitMs }) => {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const record = (await t.app.realtime.state.syncRecords.read(roomOf(kind).room_id)).records.get(idOf(kind));
        if (record && record.at >= before && record.rttMs === 40) return true;
        if (Date.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  },
};

/** Sends one command and reports the outcome: "ERROR <code>", "ignored" or "applied". */
async function runEvent(
  type: string,
  kind: SocketKind,
  client: TestClient,
  expected: Outcome,
): Promise<{ got: Outcome; victim?: TestClient }> {
  const call = EVENT_CALLS[type]!;
  let victim: TestClient | undefined;
  if (call.needsVictim && kind === "host") {
    victim = rawClient(t.baseUrl, f.room.code, f.victim.token);
    await victim.drainJoin();
  }
  const payload = call.payload(kind) as Record<string, any>;
  const before = type === "PLAYER_EVENT" ? await lastProgressWrite(kind) : Date.now();
  let seen: Message[] = [];
  let ignored = false;
  if (client.kind === "socket.io") {
    const ack = await (client as SioClient).emitAck(type, payload);
    if (!ack.ok) return { got: `ERROR ${ack.error.code}`, victim };
    ignored = ack.ignored === true;
  } else {
    const probe = -(probes += 1) - 1;
    client.send({ type, ...payload });
    client.send({ type: "TIME_SYNC", client_ts: probe });
    seen = await collectUntilProbe(client, probe);
    const error = seen.find((m) => m.type === "ERROR");
    if (error) return { got: `ERROR ${error.code}`, victim };
  }
  if (ignored) return { got: IGNORED, victim };
  const proven = await call.applied({ kind, client, payload, seen, victim, stamp: before, waitMs: expected === APPLIED ? 5000 : 0 });
  return { got: proven ? APPLIED : expected === APPLIED ? "no effect seen" : IGNORED, victim };
}

function frameFor(type: string): Record<string, unknown> {
  return { type, ...EVENT_CALLS[type]!.payload("guest") };
}

// ---- the suites -------------------------------------------------------------------------------

describe("the matrix covers", () => {
  it("every operation of the OpenAPI document, and only those", async () => {
    const schema = await t.api.get("/api/schema/");
    const operations = Object.entries(schema.body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => m !== "head")
          .map((m) => `${m.toUpperCase()} ${path}`),
      )
      .sort();
    expect(Object.keys(REST_MATRIX).sort(), "REST_MATRIX rows vs /api/schema/ operations").toEqual(operations);
    expect(Object.keys(REST_CALLS).sort()).toEqual(operations);
    for (const op of operations) expect(Object.keys(REST_MATRIX[op]!).sort(), op).toEqual([...KINDS].sort());
  });

  it("every client→server message type of the protocol, and only those", () => {
    const types = Object.keys(clientMessages).sort();
    expect(Object.keys(EVENT_MATRIX).sort()).toEqual(types);
    expect(Object.keys(EVENT_CALLS).sort()).toEqual(types);
    for (const type of types) expect(Object.keys(EVENT_MATRIX[type]!).sort(), type).toEqual([...KINDS].sort());
  });
});

describe("the token kinds", () => {
  it("the expired token differs from a working one only by its exp; forged and revoked credentials fail", async () => {
    const owner = f.accounts.expiredToken;
    const control = await t.api.get("/api/auth/me/", { token: forge(owner.token, { expiresInSeconds: 3600 }) });
    expect(control.status, "same claims with a future exp work").toBe(200);
    expect(control.body.id).toBe(owner.id);
    const refused = async (token: string) => outcomeOf(await t.api.get("/api/auth/me/", { token }));
    expect(await refused(f.tokens.expiredToken!)).toBe("401 INVALID_TOKEN");
    expect(await refused(forge(f.accounts.participant.token, { secret: "another-secret-another-secret-0123456" }))).toBe(
      "401 INVALID_TOKEN",
    );
    const [, payload] = f.accounts.participant.token.split(".");
    const none = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.`;
    expect(await refused(none)).toBe("401 INVALID_TOKEN");
    const refresh = await t.api.post("/api/auth/refresh/", { refresh_token: f.accounts.revokedToken.refresh });
    expect(outcomeOf(refresh), "a logged-out session's refresh token").toBe("401 INVALID_TOKEN");
  });
});

describe("REST × caller kinds", () => {
  for (const op of Object.keys(REST_MATRIX).filter((o) => !LAST_ROWS.has(o))) {
    it(op, { timeout: 60_000 }, async () => {
      const mismatches = await runRestRow(op);
      expect(mismatches, mismatches.join("\n")).toEqual([]);
    });
  }

  it("the /api/v1 aliases are guarded the same way (anonymous callers)", async () => {
    const schema = await t.api.get("/api/schema/");
    const before = await snapshot();
    const mismatches: string[] = [];
    for (const [path, ops] of Object.entries(
      schema.body.paths as Record<string, Record<string, { security?: Record<string, unknown>[] }>>,
    )) {
      for (const [method, op] of Object.entries(ops)) {
        // Only the operations that require a token: not the public (`[]`) or optional (`[{}, …]`) ones.
        const required = op.security?.some((s) => "bearerAuth" in s) && !op.security.some((s) => Object.keys(s).length === 0);
        if (!required || !path.startsWith("/api/")) continue;
        const alias = path.replace(/^\/api\//, "/api/v1/").replace("{room_code}", f.room.code);
        const res = await t.api.request(method.toUpperCase(), alias, method === "get" ? undefined : {});
        if (outcomeOf(res) !== "401 AUTH_REQUIRED") mismatches.push(`${method.toUpperCase()} ${alias}: got ${outcomeOf(res)}`);
      }
    }
    expect(mismatches, mismatches.join("\n")).toEqual([]);
    expect(changedParts(before, await snapshot())).toEqual([]);
  });
});

/**
 * The socket suites share two quiet connections that never leave: a watcher in R (it also sees
 * whether refused connections show up in the room) and a second tab of the other host in O. A
 * room whose last local member leaves is dropped, and a Socket.IO client admitted at that very
 * moment would be left in a released namespace (see the report); keeping both rooms occupied
 * keeps the suites independent of that race.
 */
describe("sockets", () => {
  let watcher: TestClient;
  let otherHostTab: TestClient;
  beforeAll(async () => {
    // Items for QUEUE_REMOVE, QUEUE_MOVE and NEXT in both rooms (each cell runs once per transport),
    // and media in O from the start, as NEXT gives it (PLAYER_EVENT and VOTE_SKIP then apply there).
    await seedQueue(f.room, 40);
    await seedQueue(f.otherRoom, 40);
    const media = { room_id: f.otherRoom.room_id, provider: "direct", video_id: "https://media.example/o.webm" };
    expect((await t.api.post("/api/rooms/source/", media, { token: f.accounts.otherHost.token })).status).toBe(200);
    watcher = rawClient(t.baseUrl, f.room.code, f.watcher.token);
    const first = await joined(watcher);
    otherHostTab = rawClient(t.baseUrl, f.otherRoom.code, f.accounts.otherHost.token);
    await otherHostTab.drainJoin();
    await f.setupHost?.close();
    f.setupHost = undefined;
    // Once the watcher's roster shows it alone, the set-up host's leave (grace) is done.
    await settleRoster(watcher, first, [f.watcher.id]);
    // A grace notice may follow the roster: read up to a probe's answer.
    watcher.send({ type: "TIME_SYNC", client_ts: -1 });
    await collectUntilProbe(watcher, -1);
  });
  afterAll(async () => {
    await watcher?.close();
    await otherHostTab?.close();
  });

  describe("socket connect × caller kinds", () => {
    it("admits exactly R's approved members; refusals carry their code, deliver nothing, and drop the frames sent meanwhile", async () => {
      const mismatches: string[] = [];
      const transports: Transport[] = ["ws", "socket.io"];
      // Refusals first, while nothing else moves in the room; then the members.
      const cells = [...REFUSED_KINDS, ...KINDS.filter((k) => !REFUSED_KINDS.includes(k))].flatMap((kind) =>
        transports.map((tr) => [tr, kind] as const),
      );
      for (const [transport, kind] of cells) {
        const cell = `connect ${transport} × ${kind}`;
        const expected = CONNECT[kind];
        const refusedExpected = expected !== "joined";
        const before = await snapshot();
        const client = open(transport, f.room.code, f.tokens[kind]);
        // A refused caller fires every event at once, before the server has decided: each is an
        // (event, kind) cell of EVENT_MATRIX, and must be dropped unanswered.
        const frames = refusedExpected ? Object.keys(EVENT_MATRIX).map(frameFor) : [];
        if (client.kind === "ws")
          (client as ReturnType<typeof rawClient>).socket.once("open", () => {
            for (const m of frames) client.send(m);
          });
        else for (const m of frames) client.send(m);
        const got = await Promise.race([
          client.closed.then((c) => (client.kind === "ws" ? `${c.code}` : `${c.code} ${c.reason}`)),
          client.waitFor("PLAYBACK_STATE", 5000).then(
            () => "joined",
            () => "no answer",
          ),
        ]);
        // A raw close frame carries the code (and a human reason); Socket.IO also the reason code.
        const want = client.kind === "ws" && refusedExpected ? expected.split(" ")[0]! : expected;
        if (got !== want) mismatches.push(`${cell}: expected ${want}, got ${got}`);
        if (refusedExpected) {
          if (client.received.length)
            mismatches.push(`${cell}: a refused socket received ${JSON.stringify(client.received).slice(0, 300)}`);
          const probe = -(probes += 1) - 1;
          watcher.send({ type: "TIME_SYNC", client_ts: probe });
          const noise = (await collectUntilProbe(watcher, probe)).filter((m) => /^(USER_|ROOM_PARTICIPANTS|HOST_)/.test(m.type));
          if (noise.length) mismatches.push(`${cell}: the room saw ${JSON.stringify(noise).slice(0, 300)}`);
          const changed = changedParts(before, await snapshot());
          if (changed.length) mismatches.push(`${cell}: state changed: ${changed.join(", ")}`);
          // (The other host's events are cells of its own room O, run in the suite below.)
          for (const type of SOCKET_KINDS.includes(kind as SocketKind) ? [] : Object.keys(EVENT_MATRIX)) {
            const entry = EVENT_MATRIX[type]![kind];
            if (entry !== `no socket (${expected})`) mismatches.push(`${type} × ${kind}: the table says ${entry}`);
          }
        } else if (got === "joined") {
          const roster = await client.waitFor("ROOM_PARTICIPANTS");
          const ids = (roster.members as { id: string }[]).map((m) => m.id);
          if (!ids.includes(f.accounts.host.id) || !ids.includes(idOf(kind))) mismatches.push(`${cell}: not R's roster`);
        }
        received.push({ kind, where: cell, text: JSON.stringify(client.received) });
        await client.close();
      }
      expect(mismatches, mismatches.join("\n")).toEqual([]);
    });
  });

  describe.each(["ws", "socket.io"] as const)("socket events × caller kinds over %s", (transport) => {
    const clients = {} as Record<SocketKind, TestClient>;
    beforeAll(async () => {
      clients.host = open(transport, f.room.code, f.accounts.host.token);
      const hostRoster = await joined(clients.host);
      for (const kind of ["participant", "guest", "otherHost"] as const) {
        clients[kind] = open(transport, roomOf(kind).code, f.accounts[kind].token);
        await clients[kind].drainJoin();
      }
      await settleRoster(clients.host, hostRoster, [f.accounts.host.id, f.accounts.participant.id, f.accounts.guest.id, f.watcher.id]);
    });
    afterAll(async () => {
      for (const kind of SOCKET_KINDS) {
        received.push({ kind, where: `${transport} socket`, text: JSON.stringify(clients[kind]?.received ?? []) });
        await clients[kind]?.close();
      }
    });

    for (const type of Object.keys(EVENT_MATRIX)) {
      it(type, { timeout: 60_000 }, async () => {
        const mismatches: string[] = [];
        for (const kind of SOCKET_KINDS) {
          const cell = `${type} ${transport} × ${kind}`;
          const expected = EVENT_MATRIX[type]![kind];
          const before = await snapshot();
          const { got, victim } = await runEvent(type, kind, clients[kind], expected);
          if (got !== expected) mismatches.push(`${cell}: expected ${expected}, got ${got}`);
          const intended = got === expected && expected === APPLIED && EVENT_CALLS[type]!.mutates && kind !== "otherHost";
          await victim?.close();
          if (!intended) {
            const changed = changedParts(before, await snapshot());
            if (changed.length) mismatches.push(`${cell}: R's state changed: ${changed.join(", ")}`);
          }
        }
        expect(mismatches, mismatches.join("\n")).toEqual([]);
      });
    }
  });

  describe("a revoked session", () => {
    it("loses its open sockets at once (4001) and cannot reconnect", async () => {
      const user = await t.api.register(`late${fresh()}`);
      await t.api.join(user.token, f.room.code);
      await t.api.post("/api/rooms/approve/", { room_id: f.room.room_id, user_id: user.id }, { token: f.accounts.host.token });
      const ws = rawClient(t.baseUrl, f.room.code, user.token);
      const sio = sioClient(t.baseUrl, f.room.code, user.token);
      await ws.drainJoin();
      await sio.drainJoin();
      expect((await t.api.post("/api/auth/logout/", {}, { token: user.token })).status).toBe(200);
      expect((await ws.closed).code).toBe(4001);
      expect((await sio.waitFor("CLOSE")).code).toBe(4001);
      const again = sioClient(t.baseUrl, f.room.code, user.token);
      const err = await again.connectError;
      expect({ code: err.data?.code, reason: err.message }).toEqual({ code: 4001, reason: "INVALID_TOKEN" });
    });
  });
});

describe("no leaks", () => {
  /** What `kind` must never read anywhere (REST bodies and socket messages alike). */
  function secretsFor(kind: Kind): { label: string; value: string }[] {
    const secrets: { label: string; value: string }[] = [];
    for (const [owner, p] of Object.entries(PROGRESS)) {
      if (owner !== kind) secrets.push({ label: `${owner}'s watch progress`, value: String(p.timestamp) });
    }
    if (kind !== "host") {
      for (const password of f.pwRoomPasswords) secrets.push({ label: "RP's password", value: password });
      if (kind !== "pending") secrets.push({ label: "the pending request (R's full participant list)", value: f.accounts.pending.id });
    }
    const approvedMember = kind === "guest" || kind === "participant" || kind === "host";
    if (!approvedMember) {
      secrets.push({ label: "R's media (private detail)", value: SECRET_VIDEO });
      const members = [...Object.entries(f.accounts), ["victim", f.victim] as const, ["watcher", f.watcher] as const];
      for (const [who, a] of members) if (who !== kind && who !== "pending") secrets.push({ label: `R's member ${who}`, value: a.id });
    }
    return secrets;
  }

  it("nobody receives another user's progress, R's private details, members or bans, or RP's password, unless entitled", () => {
    const leaks: string[] = [];
    for (const { kind, where, text } of received) {
      // Staff tools list every room and account, and staff read any room's timeline, by design.
      if (kind === "staff" && (where.includes("/api/admin/") || where.endsWith("/events/"))) continue;
      // Progress answers echo the caller's own rows (ownership is checked cell by cell).
      const ownRows = /progress|resume/.test(where);
      for (const { label, value } of secretsFor(kind)) {
        if (ownRows && value === SECRET_VIDEO) continue;
        if (value && text.includes(value)) leaks.push(`${kind} got ${label} from ${where}`);
      }
    }
    expect(received.length).toBeGreaterThan(100);
    expect(leaks, leaks.join("\n")).toEqual([]);
  });

  it("a pending user sees only its join answer, its own membership summary and the reduced room detail", async () => {
    const token = f.accounts.pending.token;
    const join = await t.api.join(token, f.room.code);
    expect(join.body).toEqual({ room_id: f.room.room_id, code: f.room.code, status: "PENDING", is_host: false });
    const mine = (await t.api.get("/api/rooms/mine/", { token })).body.find((r: any) => r.room_id === f.room.room_id);
    expect(mine).toEqual({
      room_id: f.room.room_id,
      code: f.room.code,
      state: expect.any(String),
      is_private: true,
      entry_mode: "APPROVAL",
      status: "PENDING",
      is_host: false,
      created_at: expect.any(String),
    });
    const detail = await t.api.get(`/api/rooms/${f.room.code}/detail/`, { token });
    expect(detail.body).toMatchObject({ participant_status: "PENDING", host: expect.any(String), entry_mode: "APPROVAL" });
    expect(detail.body).not.toHaveProperty("video_id");
    expect(outcomeOf(await t.api.get(`/api/rooms/participants/?room_id=${f.room.room_id}`, { token }))).toBe(DENIED);
    const err = await sioClient(t.baseUrl, f.room.code, token).connectError;
    expect({ code: err.data?.code, reason: err.message }).toEqual({ code: 4003, reason: "NOT_APPROVED" });
  });

  it("a host cannot read or manage another host's room either way round", async () => {
    const host = f.accounts.host.token;
    const other = f.otherRoom.room_id;
    expect(outcomeOf(await t.api.get(`/api/rooms/participants/?room_id=${other}`, { token: host }))).toBe(DENIED);
    expect(outcomeOf(await t.api.get(`/api/rooms/${f.otherRoom.code}/detail/`, { token: host }))).toBe(NOT_MEMBER);
    expect(outcomeOf(await t.api.post("/api/rooms/approve/", { room_id: other, user_id: f.accounts.otherHost.id }, { token: host }))).toBe(
      DENIED,
    );
    expect(outcomeOf(await t.api.post("/api/rooms/source/", { room_id: other, provider: "vidking", video_id: "1" }, { token: host }))).toBe(
      DENIED,
    );
    const progress = await t.api.get(`/api/rooms/progress/get/?room_id=${other}&media_id=${SECRET_VIDEO}&media_type=movie`, {
      token: host,
    });
    expect(outcomeOf(progress)).toBe(NOT_MEMBER);
  });
});

describe("REST × caller kinds, session-ending rows (last)", () => {
  for (const op of LAST_ROWS) {
    it(op, async () => {
      const mismatches = await runRestRow(op);
      // Logout revoked every signed-in caller's session.
      for (const kind of KINDS) {
        if (!(kind in SIGNED_OUT)) {
          const me = outcomeOf(await t.api.get("/api/auth/me/", { token: f.tokens[kind] }));
          if (me !== "401 INVALID_TOKEN") mismatches.push(`${op} × ${kind}: the session survived (me → ${me})`);
        }
      }
      expect(mismatches, mismatches.join("\n")).toEqual([]);
    });
  }
});
