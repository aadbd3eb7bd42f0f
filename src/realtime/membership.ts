/**
 * The join and leave sequences: presence, the room lifecycle (a host's return makes the room
 * LIVE, a host's last tab leaving starts grace), and what the others are told. Everything the
 * other members see goes out as a room event, so every instance tells its own connections.
 */
import type { DB } from "../db.js";
import type { RoomEvent } from "../events/room-events.js";
import type { GraceScheduler } from "../lifecycle/scheduler.js";
import type { RoomLifecycle } from "../lifecycle/service.js";
import { markLive } from "../lifecycle/transitions.js";
import { snapshotAt } from "../playback/snapshot.js";
import type { Presence } from "../state/presence/presence.js";
import { recordRoomEvent } from "../timeline/timeline.js";
import type { Admission } from "./admission.js";
import type { ConnectionGuard } from "./guard.js";
import type { LiveRoom } from "./live-room.js";
import type { LiveRooms } from "./live-rooms.js";
import { ROSTER_PACING } from "./roster-pacing.js";
import type { Sessions } from "./sessions.js";
import type { Connection, Member } from "./types.js";

export interface MembershipDeps {
  db: DB;
  presence: Presence;
  lifecycle: RoomLifecycle;
  scheduler: GraceScheduler;
  guard: ConnectionGuard | undefined;
  rooms: LiveRooms;
  sessions: Sessions;
  publish: (event: RoomEvent) => Promise<void>;
  draining: () => boolean;
}

export class Membership {
  constructor(private readonly deps: MembershipDeps) {}

  /**
   * The joiner gets CHAT_HISTORY and PLAYBACK_STATE synchronously, before any other broadcast can
   * reach it (or, resuming, what it missed), then ROOM_PARTICIPANTS: with everyone else's in a
   * small room, at once in a big one, and always at once (with its pages) with delta presence.
   */
  async join(connection: Connection, admission: Admission): Promise<void> {
    const { user, room, resumeFrom } = admission;
    const { rooms, sessions } = this.deps;
    const live = rooms.open(room, admission.playback);
    const member: Member = { connection, user, isHost: admission.isHost, release: this.deps.guard?.claimUser(user.id) };
    sessions.armExpiry(member);
    rooms.enter(live, member);
    const snapshot = () => this.sendSnapshot(live, connection, admission);
    if (resumeFrom) await sessions.replay(live, connection, resumeFrom.lastSeq, snapshot);
    else snapshot();

    const { firstForUser, hostReturned, graceEndsAt, restedAt } = await rooms.withLock(room.id, () => this.arrive(member, admission));
    // The session this one resumes may still linger here: it leaves now, unseen (no USER_LEFT).
    if (resumeFrom) await sessions.finishLingering(resumeFrom.connectionId);
    await live.ready;
    if (!live.members.has(connection.id)) return; // left (or was closed) meanwhile
    const at = { roomId: live.id, code: live.code };
    if (hostReturned) void this.deps.publish({ type: "host.returned", ...at, except: [connection.id] });
    const joined = this.deps.publish({
      type: "member.joined",
      ...at,
      userId: user.id,
      displayName: user.display_name,
      first: firstForUser,
      except: [connection.id],
    });
    if (connection.deltaPresence) {
      this.sendRoster(live, connection);
    } else if (live.members.size > ROSTER_PACING.smallRoom) {
      // Big room: the joiner gets its roster now; everyone else's is paced (see roster-pacing.ts).
      connection.send(live.roster.legacyRoster(live));
    } else {
      await joined;
    }
    if (graceEndsAt && !resumeFrom) {
      // Flaw fixed: a newcomer during grace is told the host is away.
      const seconds = Math.max(0, Math.ceil((graceEndsAt.getTime() - Date.now()) / 1000));
      connection.send({ type: "HOST_DISCONNECTED", grace_seconds: seconds, grace_ends_at: graceEndsAt.toISOString() });
    }
    if (restedAt && !resumeFrom) connection.send({ type: "ROOM_RESTING", rested_at: restedAt.toISOString() });
    if (live.partyStartsAt && !resumeFrom) {
      // Added: a party is scheduled; its countdown (after the three join messages of the contract).
      connection.send({ type: "PARTY_STARTS_AT", starts_at: live.partyStartsAt, server_time: Date.now(), reason: "scheduled" });
    }
    if (admission.resume) await sessions.issue(live, member);
  }

  /**
   * A delta-presence joiner's roster (shared pages and what changed since they were built); from
   * now on it gets the roster's changes. Its own join is in it (applied when it was published).
   */
  private sendRoster(live: LiveRoom, connection: Connection): void {
    const { first, pages, since } = live.roster.snapshot(live);
    connection.send(first);
    for (const page of pages) connection.send(page);
    if (since) connection.send(since);
    live.rosterSubscribers.add(connection.id);
  }

  /** Presence and lifecycle of a join, under the room's lock. */
  private async arrive(member: Member, admission: Admission) {
    const { room } = admission;
    const { firstForUser } = await this.deps.presence.connect(room.id, room.host_id, member.user.id, member.connection.id);
    let hostReturned = false;
    let graceEndsAt: Date | null = null;
    let restedAt: Date | null = null;
    if (member.isHost && firstForUser) {
      // The room row was read at admission, moments ago: no second read on the join path.
      const updated = await markLive(this.deps.db, room.id);
      if (updated) {
        hostReturned = room.state === "GRACE" || room.state === "RESTING";
        await this.deps.scheduler.cancel(room.id);
        const event = hostReturned ? "host.reconnected" : "room.live";
        await recordRoomEvent(this.deps.db, room.id, member.user.id, event, room.state === "RESTING" ? { from_rest: true } : {});
      }
    } else if (!member.isHost && room.state === "GRACE") {
      graceEndsAt = room.grace_ends_at;
    } else if (!member.isHost && room.state === "RESTING") {
      // A successor by the room's policy wakes it (HOST_CHANGED follows); anyone else finds it at rest.
      const woken = room.succession !== "EXPIRE" && (await this.deps.lifecycle.wake(room.id));
      if (!woken) restedAt = room.rested_at;
    }
    return { firstForUser, hostReturned, graceEndsAt, restedAt };
  }

  /** The join snapshot: recent chat, then the playback state as of now. */
  private sendSnapshot(live: LiveRoom, connection: Connection, admission: Admission): void {
    connection.send({ type: "CHAT_HISTORY", messages: admission.history });
    connection.send({ type: "PLAYBACK_STATE", ...snapshotAt(live.playback) });
  }

  /**
   * The leave sequence for an admitted connection; a no-op for any other. `dropped`: the
   * connection was lost rather than closed; a resumable one then lingers (see sessions.ts).
   */
  async leave(connection: Connection, dropped: boolean): Promise<void> {
    const found = this.deps.rooms.exit(connection.id);
    if (!found) return;
    const { live, member } = found;
    member.release?.();
    clearTimeout(member.expiry);
    const canLinger = !this.deps.draining() && !live.closed;
    const lingers = await this.deps.sessions.onLeave(live, member, dropped, canLinger, () => this.depart(live, member));
    if (!lingers) await this.depart(live, member);
  }

  /** The presence half of a leave: presence, grace for a host, USER_LEFT, a fresh roster. */
  private async depart(live: LiveRoom, member: Member): Promise<void> {
    const { user } = member;
    const { lastForUser, graceEndsAt } = await this.deps.rooms.withLock(live.id, async () => {
      const { lastForUser } = await this.deps.presence.disconnect(live.id, user.id, member.connection.id);
      const graceEndsAt = lastForUser && member.isHost && !live.closed ? await this.deps.lifecycle.hostGone(live.id, user.id) : null;
      return { lastForUser, graceEndsAt };
    });
    if (!live.closed) {
      // Published even with nobody left here: the room's other instances still need the news.
      const at = { roomId: live.id, code: live.code };
      const left = { ...at, type: "member.left", userId: user.id, displayName: user.display_name } as const;
      if (graceEndsAt) {
        // A host tab opened meanwhile has no use for "the host is away".
        const hostTabs = [...live.members.values()].filter((m) => m.user.id === user.id).map((m) => m.connection.id);
        void this.deps.publish({ ...left, graceEndsAt: graceEndsAt.toISOString(), except: hostTabs });
      } else if (lastForUser && !member.isHost) {
        void this.deps.publish({ ...left, graceEndsAt: null });
      } else {
        void this.deps.publish({ type: "roster.changed", ...at, ...(lastForUser ? { offline: user.id } : {}) });
      }
    }
    this.deps.rooms.dropIfIdle(live);
  }
}
