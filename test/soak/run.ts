/**
 * `npm run soak`: a bounded soak with fault injection. Two web instances and a lifecycle
 * worker on a private PostgreSQL and a private Redis; rooms with viewers on both transports
 * spread over both instances; steady chat and playback; and on a schedule: PostgreSQL crash +
 * restart, Redis kill + restart, a web instance SIGKILLed (its clients reconnect) and started
 * again, the worker SIGKILLed and started again. Short-lived "churn" rooms go through grace and
 * expiry all along, so the lifecycle runs through the faults too.
 *
 * Ends with a report (console table + JSON under $SOAK_RESULTS_DIR, default
 * <os.tmpdir()>/streamit-soak/): messages sent, acknowledged, delivered per recipient,
 * persisted (read back from PostgreSQL), errors by code, and acknowledged-but-lost, which
 * must be 0: the exit code is 1 otherwise (2 when the soak could not run).
 *
 *   SOAK_SECONDS   how long traffic runs (default 180)
 *   SOAK_ROOMS     long-lived rooms (default 6), each with a host and SOAK_VIEWERS viewers (4)
 *   SOAK_RESULTS_DIR
 *
 * Everything it starts (processes, PostgreSQL, temp dirs) is removed at the end, also on
 * Ctrl-C. All traffic stays on 127.0.0.1.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ChaosCluster, eventually, Member, makeRoom, persistedIds, type SentMessage, sleep, type Transport } from "../chaos/harness.js";
import { canRunPrivatePostgres } from "../chaos/postgres.js";
import { Api } from "../helpers/api.js";
import { hasRedisServer, type WebInstance } from "../helpers/cluster.js";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 180);
const ROOMS = Number(process.env.SOAK_ROOMS ?? 6);
const VIEWERS = Number(process.env.SOAK_VIEWERS ?? 4);
const RESULTS_DIR = process.env.SOAK_RESULTS_DIR ?? path.join(tmpdir(), "streamit-soak");
const GRACE_SECONDS = 10;
/** A chat answer later than this counts as "late" (a refusal should be prompt). */
const ANSWER_BOUND_MS = 8000;
/** The sender gives up waiting after this (then the message is "unanswered"). */
const CHAT_TIMEOUT_MS = 20_000;
/** Chat retention per room (src/chat/service.ts CHAT_RETENTION): stay under it. */
const RETENTION = 500;

if (!Number.isFinite(SECONDS) || SECONDS < 30) throw new Error("SOAK_SECONDS must be a number >= 30");

const log = (message: string) => console.log(`[soak +${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${message}`);
const t0 = Date.now();
let cluster: ChaosCluster | undefined;
let ending = false;

// ---- cleanup on every way out ---------------------------------------------------------

function cleanupSync(): void {
  try {
    cluster?.stopSync();
  } catch {
    /* best effort */
  }
}
process.on("exit", cleanupSync);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    console.error(`\n[soak] ${signal}: stopping every process and removing temp dirs`);
    cleanupSync();
    process.exit(130);
  });
}

// ---- bookkeeping ------------------------------------------------------------------------

interface Fault {
  kind: "postgres-restart" | "redis-restart" | "web-kill" | "worker-kill";
  startedAt: number;
  endedAt?: number;
  /** When every instance answered /health/ 200 again. */
  healthyAt?: number;
  detail?: string;
}

interface SoakRoom {
  code: string;
  roomId: string;
  members: Member[];
  host: Member;
}

interface ChurnRoom {
  code: string;
  roomId: string;
  createdAt: number;
  viewers: Member[];
  hostLeftAt?: number;
  outcome?: "expired-once" | "not-expired" | "duplicate" | "setup-failed";
  detail?: string;
}

const faults: Fault[] = [];
const sent: SentMessage[] = [];
const playback = { sent: 0, acked: 0, refused: new Map<string, number>(), unanswered: 0 };
const churn: ChurnRoom[] = [];
/** Churn viewers reconnect too (until their room is judged), like real clients. */
const churnKeepers: Promise<void>[] = [];
let churnJudged = false;
const reconnects = { attempts: 0, succeeded: 0, failures: new Map<string, number>() };
/** Why connections ended, by close code (raw close frame / Socket.IO CLOSE or disconnect). */
const closeCodes = new Map<string, number>();
const rss: { at: number; instance: string; mb: number }[] = [];
const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

function liveWebs(): WebInstance[] {
  return cluster!.webs.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
}
const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)]!;

// ---- member behaviour ---------------------------------------------------------------------

/**
 * Keeps a member connected: when its connection drops (not by us), reconnects to a live
 * instance, until `stop()` (default: the end of the traffic) or a terminal close code.
 */
async function keepConnected(member: Member, stop: () => boolean = () => ending): Promise<void> {
  let seenSessions = member.sessions.length;
  while (!stop()) {
    if (!member.open) {
      if (member.sessions.length >= seenSessions && member.closeInfo) {
        seenSessions = member.sessions.length + 1;
        count(closeCodes, `${member.closeInfo.code} ${member.closeInfo.reason}`.trim().slice(0, 50));
      }
      if (member.closeInfo && [4004, 4005, 4010, 4011].includes(member.closeInfo.code)) return; // expired, deleted, banned
      const webs = liveWebs();
      if (webs.length > 0) {
        reconnects.attempts += 1;
        try {
          await member.connect(pick(webs).baseUrl, 10_000);
          reconnects.succeeded += 1;
        } catch (err) {
          count(
            reconnects.failures,
            String((err as Error).message)
              .replace(/^[^:]*: /, "")
              .slice(0, 60),
          );
          await member.close();
          await sleep(500 + Math.random() * 500);
        }
      }
    }
    await sleep(200);
  }
}

async function chatLoop(member: Member, everyMs: number): Promise<void> {
  await sleep(Math.random() * everyMs);
  for (let n = 0; !ending; n += 1) {
    const started = Date.now();
    if (member.open) sent.push(await member.chat(`${member.name} #${n}`, CHAT_TIMEOUT_MS));
    await sleep(Math.max(100, everyMs - (Date.now() - started)));
  }
}

async function playbackLoop(host: Member): Promise<void> {
  const commands = ["PLAY", "PAUSE", "SEEK"] as const;
  for (let n = 0; !ending; n += 1) {
    await sleep(1500 + Math.random() * 1000);
    if (!host.open) continue;
    playback.sent += 1;
    const result = await host.command(commands[n % 3]!, { time: 10 + n }, CHAT_TIMEOUT_MS);
    if (result.timeout) playback.unanswered += 1;
    else if (result.ok) playback.acked += host.transport === "socket.io" ? 1 : 0;
    else count(playback.refused, result.code ?? "?");
  }
}

/** Short-lived rooms: host joins and leaves, viewers must see exactly one ROOM_EXPIRED. */
async function churnLoop(): Promise<void> {
  for (let n = 0; !ending; n += 1) {
    await sleep(12_000 + Math.random() * 4000);
    if (ending || Date.now() - t0 > SECONDS * 1000 - (GRACE_SECONDS + 20) * 1000) return;
    const webs = liveWebs();
    if (webs.length === 0) continue;
    const entry: ChurnRoom = { code: "", roomId: "", createdAt: Date.now(), viewers: [] };
    try {
      const room = await makeRoom(new Api(pick(webs).baseUrl), 2);
      Object.assign(entry, { code: room.code, roomId: room.roomId });
      const host = new Member(`churn${n} host`, room.host, room.code, pick(webs).baseUrl, n % 2 ? "ws" : "socket.io");
      await host.connect();
      for (const [i, guest] of room.guests.entries()) {
        const viewer = new Member(`churn${n} v${i}`, guest, room.code, webs[i % webs.length]!.baseUrl, i % 2 ? "ws" : "socket.io");
        await viewer.connect();
        entry.viewers.push(viewer);
        churnKeepers.push(keepConnected(viewer, () => churnJudged));
      }
      await host.close();
      entry.hostLeftAt = Date.now();
      churn.push(entry);
    } catch (err) {
      entry.outcome = "setup-failed";
      entry.detail = (err as Error).message.slice(0, 120);
      churn.push(entry);
      for (const v of entry.viewers) await v.close();
    }
  }
}

/**
 * A churn viewer knows its room expired: it got ROOM_EXPIRED, or (its instance died meanwhile)
 * its reconnection was refused because the room is over (4004 expired, 4005 inactive).
 */
function told(viewer: Member): boolean {
  return viewer.expiredEvents > 0 || (!viewer.open && [4004, 4005].includes(viewer.closeInfo?.code ?? 0));
}

// ---- faults -------------------------------------------------------------------------------

async function injectFault(kind: Fault["kind"]): Promise<void> {
  const fault: Fault = { kind, startedAt: Date.now() };
  faults.push(fault);
  const c = cluster!;
  switch (kind) {
    case "postgres-restart":
      await c.pg.stop("immediate");
      await sleep(4000);
      await c.pg.start();
      break;
    case "redis-restart":
      await c.restartRedis(3000);
      break;
    case "web-kill": {
      const victim = pick(liveWebs());
      fault.detail = `SIGKILL web :${victim.port}`;
      await c.kill(victim, "SIGKILL");
      await sleep(2000);
      const fresh = await c.addWeb();
      fault.detail += `, started :${fresh.port}`;
      break;
    }
    case "worker-kill": {
      const worker = c.workers[0];
      if (worker) await c.kill(worker, "SIGKILL");
      await sleep(2000);
      await c.addWorker();
      break;
    }
  }
  fault.endedAt = Date.now();
  try {
    await c.healthy(30_000);
    fault.healthyAt = Date.now();
  } catch {
    fault.detail = `${fault.detail ?? ""} (not healthy within 30 s)`.trim();
  }
  log(
    `fault ${kind} done in ${fault.endedAt - fault.startedAt} ms, healthy after ${fault.healthyAt ? fault.healthyAt - fault.endedAt : "?"} ms ${fault.detail ?? ""}`,
  );
}

function sampleRss(): void {
  for (const web of liveWebs()) {
    try {
      const status = readFileSync(`/proc/${web.child.pid}/status`, "utf8");
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      rss.push({ at: Date.now() - t0, instance: `:${web.port}`, mb: Math.round(kb / 1024) });
    } catch {
      /* gone */
    }
  }
}

// ---- main ---------------------------------------------------------------------------------

async function main(): Promise<number> {
  if (!canRunPrivatePostgres || !hasRedisServer) {
    console.error("[soak] needs PostgreSQL 15 binaries (PG_BIN), a postgres OS user and root, and redis-server");
    return 2;
  }
  log(`starting: ${SECONDS} s, ${ROOMS} rooms x (host + ${VIEWERS} viewers), 2 web instances, 1 worker`);
  cluster = await ChaosCluster.start({ webs: 2, workers: 1, env: { GRACE_PERIOD_SECONDS: String(GRACE_SECONDS) } });
  const c = cluster;

  // Rooms, people spread over both instances and both transports.
  const rooms: SoakRoom[] = [];
  for (let r = 0; r < ROOMS; r += 1) {
    const room = await makeRoom(c.api(r % 2), VIEWERS);
    const transports: Transport[] = ["ws", "socket.io"];
    const host = new Member(`r${r} host`, room.host, room.code, c.webs[r % 2]!.baseUrl, transports[r % 2]!);
    const viewers = room.guests.map(
      (guest, i) => new Member(`r${r} v${i}`, guest, room.code, c.webs[(r + i + 1) % 2]!.baseUrl, transports[(r + i) % 2]!),
    );
    const members = [host, ...viewers];
    for (const m of members) await m.connect();
    rooms.push({ code: room.code, roomId: room.roomId, members, host });
  }
  const members = rooms.flatMap((r) => r.members);
  // Each member chats at a pace that keeps every room under the chat retention.
  const chatEveryMs = Math.max(1000, Math.ceil(((VIEWERS + 1) * SECONDS * 1000) / (RETENTION * 0.8)));
  log(`${members.length} members connected; each chats every ${chatEveryMs} ms; faults every ${Math.round(faultEvery() / 1000)} s`);

  const background = [
    ...members.map((m) => keepConnected(m)),
    ...members.map((m) => chatLoop(m, chatEveryMs)),
    ...rooms.map((r) => playbackLoop(r.host)),
    churnLoop(),
  ];
  const rssTimer = setInterval(sampleRss, 10_000);
  sampleRss();

  // The fault schedule, cycling through the kinds.
  const kinds: Fault["kind"][] = ["postgres-restart", "redis-restart", "web-kill", "worker-kill"];
  const endAt = t0 + SECONDS * 1000;
  for (let i = 0; ; i += 1) {
    const at = t0 + (i + 1) * faultEvery();
    if (at > endAt - 15_000) break;
    await sleep(at - Date.now());
    log(`fault ${kinds[i % kinds.length]}`);
    await injectFault(kinds[i % kinds.length]!).catch((err: Error) => log(`fault failed: ${err.message}`));
  }
  await sleep(Math.max(0, endAt - Date.now()));
  log("traffic stops; settling");
  ending = true;
  await Promise.all(background);
  clearInterval(rssTimer);
  sampleRss();

  // Last playback command per room, so every member should converge on it.
  for (const r of rooms) if (r.host.open) await r.host.command("SEEK", { time: 1 });
  await sleep(2000);

  // Churn rooms: wait for their expiries (bounded), then judge each.
  const expiryDeadline = Date.now() + (GRACE_SECONDS + 15) * 1000;
  for (const room of churn.filter((x) => !x.outcome)) {
    await eventually("expiry", async () => room.viewers.every(told), Math.max(0, expiryDeadline - Date.now())).catch(() => undefined);
  }
  await sleep(1000);
  churnJudged = true;
  await Promise.all(churnKeepers);
  const db = c.db();
  for (const room of churn.filter((x) => !x.outcome)) {
    const { rows } = await db.query<{ state: string; audits: number }>(
      `SELECT r.state, (SELECT count(*)::int FROM room_events e WHERE e.room_id = r.id AND e.event = 'room.expired') AS audits FROM rooms r WHERE r.id = $1`,
      [room.roomId],
    );
    const events = room.viewers.map((v) => v.expiredEvents);
    const row = rows[0]!;
    if (row.state === "EXPIRED" && row.audits === 1 && room.viewers.every(told) && events.every((n) => n <= 1))
      room.outcome = "expired-once";
    else if (events.some((n) => n > 1) || row.audits > 1) room.outcome = "duplicate";
    else room.outcome = "not-expired";
    if (room.outcome !== "expired-once") {
      const how = room.viewers.map((v) => `${v.expiredEvents}x${v.closeInfo ? ` closed ${v.closeInfo.code}` : ""}`).join(" / ");
      room.detail = `state ${row.state}, audit rows ${row.audits}, viewers: ROOM_EXPIRED ${how}, host left at +${((room.hostLeftAt! - t0) / 1000).toFixed(1)}s`;
    }
  }

  // ---- the ledger -------------------------------------------------------------------------
  const acked = sent.filter((s) => s.outcome === "ack");
  const stored = await persistedIds(
    db,
    acked.map((s) => s.id!),
  );
  const { rows: roomCounts } = await db.query<{ code: string; n: number }>(
    "SELECT r.code, count(m.id)::int AS n FROM rooms r LEFT JOIN chat_messages m ON m.room_id = r.id WHERE r.code = ANY($1) GROUP BY r.code",
    [rooms.map((r) => r.code)],
  );
  const trimmedRooms = new Set(roomCounts.filter((x) => x.n >= RETENTION).map((x) => x.code));
  const lost = acked.filter((s) => !stored.has(s.id!) && !trimmedRooms.has(s.room));
  const trimmed = acked.filter((s) => !stored.has(s.id!) && trimmedRooms.has(s.room));

  // Refused messages: none may have been broadcast; some may be stored (commit, then the answer lost).
  const refused = sent.filter((s) => s.outcome !== "ack");
  const { rows: refusedRows } = await db.query<{ id: string; message: string }>(
    "SELECT id::text, message FROM chat_messages WHERE message = ANY($1)",
    [refused.map((s) => s.text)],
  );
  const refusedStored = new Map(refusedRows.map((r) => [r.message, r.id]));
  const everDelivered = new Set(members.flatMap((m) => [...m.delivered.keys()]));
  const refusedBroadcast = refused.filter((s) => refusedStored.has(s.text) && everDelivered.has(refusedStored.get(s.text)!));

  // Delivery: a recipient owes a message when connected from its send until a second after its ack.
  const inFault = (from: number, to: number) =>
    faults.some((f) => from <= (f.healthyAt ?? f.endedAt ?? Date.now()) + 2000 && to >= f.startedAt - 1000);
  let owed = 0;
  let delivered = 0;
  let missedInFault = 0;
  const missedOutside: string[] = [];
  const perRecipient: Record<string, { owed: number; delivered: number; received: number }> = {};
  const byRoom = new Map(rooms.map((r) => [r.code, r]));
  for (const s of acked) {
    for (const m of byRoom.get(s.room)!.members) {
      if (!m.coveredBy(s.sentAt, s.settledAt! + 1000)) continue;
      owed += 1;
      const stats = (perRecipient[m.name] ??= { owed: 0, delivered: 0, received: m.delivered.size });
      stats.owed += 1;
      if (m.delivered.has(s.id!)) {
        delivered += 1;
        stats.delivered += 1;
      } else if (inFault(s.sentAt, s.settledAt!)) missedInFault += 1;
      else missedOutside.push(`${s.text} -> ${m.name}`);
    }
  }

  // Playback convergence: every connected member ends on the room's stored version.
  const { rows: versions } = await db.query<{ room_id: string; version: number }>(
    "SELECT room_id::text, version FROM playback_states WHERE room_id = ANY($1::uuid[])",
    [rooms.map((r) => r.roomId)],
  );
  const versionOf = new Map(versions.map((v) => [v.room_id, v.version]));
  const diverged = rooms.flatMap((r) =>
    r.members
      .filter((m) => m.open && m.lastPlayback?.version !== versionOf.get(r.roomId))
      .map((m) => `${m.name}: v${m.lastPlayback?.version} (db v${versionOf.get(r.roomId)})`),
  );

  // Presence: each long-lived room should be listed with all its members online.
  const presence: string[] = [];
  const listing = await new Api(liveWebs()[0]!.baseUrl).get("/api/rooms/public/?limit=100");
  for (const r of rooms) {
    const online = new Set(r.members.filter((m) => m.open).map((m) => m.user.id)).size;
    const listed = (listing.body as { code: string; viewers: number }[] | undefined)?.find((x) => x.code === r.code);
    if (!listed || listed.viewers !== online)
      presence.push(`${r.code}: listed ${listed ? listed.viewers : "not at all"}, online ${online}`);
  }

  const errorsByCode = new Map<string, number>();
  for (const s of refused) count(errorsByCode, s.outcome === "nack" ? `chat ${s.code}` : `chat ${s.outcome}`);
  for (const [code, n] of playback.refused) errorsByCode.set(`playback ${code}`, n);
  // Raw hosts get playback refusals as ERROR frames: their ERRORs that were not chat answers.
  for (const r of rooms.filter((x) => x.host.transport === "ws")) {
    const chatCodes = new Map<string, number>();
    for (const s of sent) if (s.sender === r.host.name && s.outcome === "nack") count(chatCodes, s.code!);
    const all = new Map<string, number>();
    for (const e of r.host.errors) count(all, e.code);
    for (const [code, n] of all) {
      const extra = n - (chatCodes.get(code) ?? 0);
      if (extra > 0) errorsByCode.set(`playback ${code} (raw ERROR)`, (errorsByCode.get(`playback ${code} (raw ERROR)`) ?? 0) + extra);
    }
  }
  const latencies = sent
    .filter((s) => s.settledAt)
    .map((s) => s.settledAt! - s.sentAt)
    .sort((x, y) => x - y);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  const late = sent.filter((s) => s.settledAt! - s.sentAt > ANSWER_BOUND_MS);

  const report = {
    startedAt: new Date(t0).toISOString(),
    seconds: SECONDS,
    rooms: ROOMS,
    members: members.length,
    chatEveryMs,
    faults: faults.map((f) => ({
      kind: f.kind,
      at_s: +((f.startedAt - t0) / 1000).toFixed(1),
      took_ms: (f.endedAt ?? f.startedAt) - f.startedAt,
      healthy_after_ms: f.healthyAt && f.endedAt ? f.healthyAt - f.endedAt : null,
      detail: f.detail ?? null,
    })),
    chat: {
      sent: sent.length,
      acknowledged: acked.length,
      refused: sent.filter((s) => s.outcome === "nack").length,
      unanswered_timeout: sent.filter((s) => s.outcome === "timeout").length,
      lost_with_connection: sent.filter((s) => s.outcome === "closed").length,
      answered_later_than_bound: late.length,
      answer_ms: { p50: pct(0.5), p99: pct(0.99), max: latencies.at(-1) ?? 0 },
      persisted_of_acknowledged: acked.length - lost.length - trimmed.length,
      acknowledged_but_lost: lost.length,
      acknowledged_trimmed_by_retention: trimmed.length,
      refused_but_persisted: refusedStored.size,
      refused_but_broadcast: refusedBroadcast.length,
    },
    delivery: {
      owed_deliveries: owed,
      delivered: delivered,
      missed_during_faults: missedInFault,
      missed_outside_faults: missedOutside.length,
      missed_outside_examples: missedOutside.slice(0, 10),
      per_recipient: perRecipient,
    },
    playback: {
      commands: playback.sent,
      acked_socket_io: playback.acked,
      refused: Object.fromEntries(playback.refused),
      unanswered: playback.unanswered,
      diverged_at_end: diverged,
    },
    lifecycle: {
      churn_rooms: churn.length,
      expired_exactly_once: churn.filter((x) => x.outcome === "expired-once").length,
      not_expired: churn.filter((x) => x.outcome === "not-expired").map((x) => `${x.code}: ${x.detail}`),
      duplicate: churn.filter((x) => x.outcome === "duplicate").map((x) => `${x.code}: ${x.detail}`),
      setup_failed: churn.filter((x) => x.outcome === "setup-failed").map((x) => x.detail),
    },
    presence_mismatches_at_end: presence,
    reconnects: { attempts: reconnects.attempts, succeeded: reconnects.succeeded, failures: Object.fromEntries(reconnects.failures) },
    errors_by_code: Object.fromEntries([...errorsByCode].sort()),
    close_codes: Object.fromEntries(closeCodes),
    web_rss_mb: rss,
    lost_examples: lost.slice(0, 20).map((s) => ({ text: s.text, id: s.id, sent_at_s: (s.sentAt - t0) / 1000 })),
  };

  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `soak-${new Date(t0).toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2));

  console.log("\nFaults");
  console.table(report.faults);
  console.log("Chat");
  console.table([
    { metric: "sent", value: report.chat.sent },
    { metric: "acknowledged", value: report.chat.acknowledged },
    { metric: "refused (error / {ok:false})", value: report.chat.refused },
    { metric: "unanswered (timeout)", value: report.chat.unanswered_timeout },
    { metric: "lost with the connection", value: report.chat.lost_with_connection },
    { metric: `answered later than ${ANSWER_BOUND_MS} ms`, value: report.chat.answered_later_than_bound },
    { metric: "answer p50 / p99 / max ms", value: `${pct(0.5)} / ${pct(0.99)} / ${latencies.at(-1) ?? 0}` },
    { metric: "persisted (of acknowledged)", value: report.chat.persisted_of_acknowledged },
    { metric: "ACKNOWLEDGED BUT LOST", value: report.chat.acknowledged_but_lost },
    { metric: "acked, trimmed by retention", value: report.chat.acknowledged_trimmed_by_retention },
    { metric: "refused but persisted", value: report.chat.refused_but_persisted },
    { metric: "refused but broadcast", value: report.chat.refused_but_broadcast },
    { metric: "deliveries owed (recipient x msg)", value: owed },
    { metric: "delivered", value: delivered },
    { metric: "missed during fault windows", value: missedInFault },
    { metric: "missed outside fault windows", value: missedOutside.length },
  ]);
  console.log("Errors by code");
  console.table(report.errors_by_code);
  console.log("Connections ended by (close code)");
  console.table(report.close_codes);
  console.log("Lifecycle and state");
  console.table([
    { metric: "playback commands", value: playback.sent },
    { metric: "playback diverged at end", value: diverged.length },
    { metric: "churn rooms", value: churn.length },
    { metric: "expired exactly once", value: report.lifecycle.expired_exactly_once },
    { metric: "not expired", value: report.lifecycle.not_expired.length },
    { metric: "expired twice", value: report.lifecycle.duplicate.length },
    { metric: "churn setup failed", value: report.lifecycle.setup_failed.length },
    { metric: "presence mismatches at end", value: presence.length },
    { metric: "reconnects ok / attempts", value: `${reconnects.succeeded} / ${reconnects.attempts}` },
  ]);
  const notes = [
    ...report.lifecycle.not_expired.map((x) => `not expired: ${x}`),
    ...report.lifecycle.duplicate.map((x) => `expired twice: ${x}`),
    ...presence.map((x) => `presence: ${x}`),
    ...diverged.map((x) => `playback diverged: ${x}`),
    ...missedOutside.slice(0, 10).map((x) => `undelivered outside faults: ${x}`),
  ];
  for (const line of notes) console.log(`  ! ${line}`);
  console.log(`\nreport: ${file}`);
  const verdict = lost.length === 0 ? "PASS: no acknowledged message was lost" : `FAIL: ${lost.length} acknowledged message(s) lost`;
  console.log(verdict);

  await Promise.all([...members, ...churn.flatMap((x) => x.viewers)].map((m) => m.close()));
  return lost.length === 0 ? 0 : 1;
}

function faultEvery(): number {
  return Math.max(25_000, (SECONDS * 1000) / 5);
}

main()
  .then(async (code) => {
    await cluster?.stop();
    process.exit(code);
  })
  .catch(async (err: unknown) => {
    console.error("[soak] failed:", err);
    if (cluster) console.error(cluster.logs(2000));
    await cluster?.stop().catch(() => {});
    process.exit(2);
  });
