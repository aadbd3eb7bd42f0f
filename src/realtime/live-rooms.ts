/**
 * The rooms that have connections on this instance, and which connection is in which. A room is
 * loaded here with its first connection and let go of once nobody is in it, its last messages
 * are out and no resumable member lingers.
 */
import type { Room } from "../../db/schema.js";
import type { DB } from "../db.js";
import type { ModerationService } from "../moderation/service.js";
import type { PlaybackSnapshot } from "../playback/snapshot.js";
import type { RoomHooks } from "../protocol/feature.js";
import { approvedParticipants } from "../rooms/participants.js";
import { loadCohosts } from "../rooms/roles.js";
import type { Mutes } from "../state/mutes/mutes.js";
import type { Presence } from "../state/presence/presence.js";
import type { RoomFanout } from "./fanout.js";
import { createLiveRoom, type LiveRoom } from "./live-room.js";
import type { RosterLimits } from "./roster.js";
import type { HubLogger, Member } from "./types.js";

export interface LiveRoomsDeps {
  db: DB;
  moderation: ModerationService;
  mutes: Mutes;
  presence: Pick<Presence, "onlineUsers">;
  rosterLimits: RosterLimits;
  fanout: RoomFanout;
  hooks: readonly RoomHooks[];
  logger: HubLogger;
}

export class LiveRooms {
  private readonly rooms = new Map<string, LiveRoom>();
  /** connection id → room code, for the connections that entered a room here. */
  private readonly connectionRooms = new Map<string, string>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** True while a dropped resumable member of the room lingers (see sessions.ts). */
  isLingering: (live: LiveRoom) => boolean = () => false;

  constructor(private readonly deps: LiveRoomsDeps) {}

  get(code: string): LiveRoom | undefined {
    return this.rooms.get(code);
  }

  all(): LiveRoom[] {
    return [...this.rooms.values()];
  }

  /** The room's live copy here, loaded with its first connection (mutes, roles and the roster follow in `ready`). */
  open(room: Room, playback: PlaybackSnapshot): LiveRoom {
    let live = this.rooms.get(room.code);
    if (!live) {
      const created = createLiveRoom(room, playback, this.deps.rosterLimits);
      live = created;
      this.rooms.set(room.code, created);
      for (const hook of this.deps.hooks) hook.roomOpened?.(created);
      created.ready = Promise.all([this.restoreMutes(created), this.loadRoles(created), this.loadRoster(created)]).then(() => {});
    }
    return live;
  }

  /** Records that a connection is in the room. */
  enter(live: LiveRoom, member: Member): void {
    live.members.set(member.connection.id, member);
    this.connectionRooms.set(member.connection.id, live.code);
  }

  /** The connection's room and member here, if it entered one; forgets the connection. */
  exit(connectionId: string): { live: LiveRoom; member: Member } | undefined {
    const found = this.memberOf(connectionId);
    this.connectionRooms.delete(connectionId);
    if (!found) return undefined;
    found.live.members.delete(connectionId);
    found.live.rosterSubscribers.delete(connectionId);
    return found;
  }

  memberOf(connectionId: string): { live: LiveRoom; member: Member } | undefined {
    const code = this.connectionRooms.get(connectionId);
    const live = code ? this.rooms.get(code) : undefined;
    const member = live?.members.get(connectionId);
    return live && member ? { live, member } : undefined;
  }

  /**
   * Copies the room's durable mutes (those in force, with their expiry) into the realtime
   * state. The state is only a copy: the embedded process forgets it on restart, and a Redis
   * without persistence on its restart.
   */
  async restoreMutes(live: LiveRoom): Promise<void> {
    try {
      for (const { userId, until } of await this.deps.moderation.mutedUsers(live.id)) await this.deps.mutes.mute(live.id, userId, until);
    } catch (err) {
      this.deps.logger.error({ err, room: live.code }, "restoring mutes failed");
    }
  }

  private async loadRoles(live: LiveRoom): Promise<void> {
    try {
      const cohosts = await loadCohosts(this.deps.db, live.id);
      if (!live.rolesFromEvent) live.roles = { ...live.roles, cohosts };
    } catch (err) {
      this.deps.logger.error({ err, room: live.code }, "loading co-hosts failed");
    }
  }

  /**
   * The roster's first read. Joins and leaves that happen meanwhile wait for it and then apply,
   * in order; a failed read leaves the roster to the next paced run's reconcile.
   */
  private async loadRoster(live: LiveRoom): Promise<void> {
    try {
      const [rows, online] = await Promise.all([approvedParticipants(this.deps.db, live.id), this.deps.presence.onlineUsers(live.id)]);
      live.roster.load(rows, online);
    } catch (err) {
      live.roster.load([], new Set());
      this.deps.logger.error({ err, room: live.code }, "loading the roster failed");
    }
  }

  /**
   * Lets go of a room nobody is in here any more, once its last messages have gone out: a
   * transport releases the room's namespace and subscriptions, and a send after that would
   * create them again. A joiner arriving meanwhile keeps the room.
   */
  dropIfIdle(live: LiveRoom): void {
    const idle = () => this.rooms.get(live.code) === live && live.members.size === 0 && !live.rosterRun.running && !this.isLingering(live);
    if (!idle() || live.dropping) return;
    live.dropping = true;
    void (async () => {
      await this.deps.fanout.settled(live);
      live.dropping = false;
      if (!idle()) return;
      this.rooms.delete(live.code);
      for (const hook of this.deps.hooks) hook.roomClosed?.(live);
      this.deps.fanout.release(live);
    })();
  }

  /** Serializes lifecycle-affecting steps per room on this instance (join vs leave races). */
  withLock<T>(roomId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(roomId) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(roomId, tail);
    void tail.then(() => {
      if (this.locks.get(roomId) === tail) this.locks.delete(roomId);
    });
    return next;
  }

  /** Settles once every lifecycle step queued so far has run. */
  async settleLocks(): Promise<void> {
    await Promise.allSettled([...this.locks.values()]);
  }
}
