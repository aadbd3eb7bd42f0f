/**
 * The buffering policy at work, on every instance that holds a room. A member's SYNC_REPORT
 * `buffering` flag is shared (realtime state: src/state/buffer-waits/); when a playing room's
 * policy says so, the room pauses (a system PAUSE, versioned like a host's, conditional on the
 * version this instance knows: of two instances judging at once, one pauses) and the wait is
 * shared. It ends with a scheduled PLAY (the host PLAY's path: everyone starts together),
 * conditional on the pause's version, so it resumes once: when those waited for are ready, when
 * the ready share is reached, or at the deadline; whoever still buffers then is catching up and
 * cools down (neither pauses the room nor is waited for, BUFFERING_COOLDOWN_SECONDS). Any other
 * playback change (the host's PLAY, PAUSE or SEEK, a new source) ends the wait without a resume
 * of its own; a member who leaves is no longer waited for.
 *
 * The deadline's timer runs on the instance that paused (and on one that opens the room while a
 * wait is on); if that instance dies, the next report past the deadline, on any instance,
 * resumes, and the host can always play.
 */
import type { ServerMessageOf } from "@streamit/protocol";
import type { DB } from "../db.js";
import type { PublishedRoomEvent, RoomEventBus } from "../events/room-events.js";
import type { PlaybackService } from "../playback/service.js";
import { currentPosition } from "../playback/snapshot.js";
import type { RoomHooks, RoomView, Sender } from "../protocol/feature.js";
import type { BufferingView, BufferWait, BufferWaits } from "../state/buffer-waits/buffer-waits.js";
import type { Presence } from "../state/presence/presence.js";
import { recordRoomEvent } from "../timeline/timeline.js";
import { type BufferingPolicy, type ResumeReason, resumeReason, shouldPause, waitingUsers } from "./policy.js";

/** What a report changed: the user's buffering flag, or their catching up (they are ready). */
interface Notice {
  changed: boolean;
  caughtUp: boolean;
}

export interface BufferingDeps {
  db: DB;
  playback: PlaybackService;
  waits: BufferWaits;
  presence: Presence;
  events: RoomEventBus;
  policyOf(roomId: string): Promise<BufferingPolicy>;
  /** How far ahead a start is scheduled in this room (ms). */
  startLeadMs(roomId: string): number;
  /** How long a viewer left behind neither pauses the room nor is waited for (ms). */
  cooldownMs: number;
  /** How long after a start takes effect a buffering report does not pause the room (ms). */
  startGraceMs: number;
  logger: { warn(details: object, message: string): void };
}

const bufferingState = (
  waiting: readonly string[],
  catchingUp: ReadonlySet<string>,
  resumesBy: number | null,
): ServerMessageOf<"BUFFERING_STATE"> => ({
  type: "BUFFERING_STATE",
  waiting: [...waiting],
  catching_up: [...catchingUp].sort(),
  resumes_by: resumesBy,
});

export class BufferingCoordinator implements RoomHooks {
  /** The rooms live here, by id. */
  private readonly rooms = new Map<string, RoomView>();
  /** Their policies (loaded on first use, then kept by BUFFERING_POLICY's room event). */
  private readonly policies = new Map<string, BufferingPolicy>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly deps: BufferingDeps) {}

  /** A member's SYNC_REPORT: their buffering flag, and what the room's policy makes of it. Best effort. */
  async report(room: RoomView, userId: string, buffering: boolean): Promise<void> {
    try {
      const policy = await this.policy(room.id);
      if (policy.policy === "never") return;
      const view = await this.deps.waits.report(room.id, userId, buffering, Date.now());
      await this.judge(room, policy, view, view);
    } catch (err) {
      this.deps.logger.warn({ err, room: room.code }, "buffering report failed");
    }
  }

  roomOpened(room: RoomView): void {
    this.rooms.set(room.id, room);
    // A wait that another instance started (and maybe left with its timer) gets a timer here too.
    this.quietly(room, async () => {
      if ((await this.policy(room.id)).policy === "never") return;
      const { wait } = await this.deps.waits.read(room.id, Date.now());
      if (wait) this.arm(room.id, wait);
    });
  }

  roomClosed(room: RoomView): void {
    this.forget(room.id);
  }

  roomEvent(event: PublishedRoomEvent): void {
    if (event.roomId === undefined) return;
    const room = this.rooms.get(event.roomId);
    if (event.type === "room.buffering_policy_changed") {
      this.policies.set(event.roomId, event.policy);
      // A wait under the old policy is judged by the new one (`never` resumes it).
      if (room) this.quietly(room, () => this.rejudge(room));
    } else if (event.type === "room.deleted" || event.type === "room.expired") this.forget(event.roomId);
    else if (!room || (this.policies.get(room.id)?.policy ?? "never") === "never") return;
    else if (event.type === "room.playback_changed" || event.type === "room.source_changed")
      this.quietly(room, () => this.clear(room, event.playback.version));
    // The one the room waited for left: judged again without them.
    else if (event.type === "member.left") this.quietly(room, () => this.rejudge(room));
    else if (event.type === "member.joined") {
      // On the joiner's instance only (their connection is the one the event leaves out).
      const joiner = event.except.map((id) => room.members.get(id)).find((member) => member !== undefined);
      if (joiner) this.quietly(room, () => this.tell(room, joiner));
    }
  }

  close(): void {
    for (const roomId of [...this.rooms.keys()]) this.forget(roomId);
  }

  private async policy(roomId: string): Promise<BufferingPolicy> {
    const known = this.policies.get(roomId);
    if (known) return known;
    const loaded = await this.deps.policyOf(roomId);
    // Not over one a room event brought meanwhile; only for rooms live here (the cache is theirs).
    if (this.rooms.has(roomId) && !this.policies.has(roomId)) this.policies.set(roomId, loaded);
    return this.policies.get(roomId) ?? loaded;
  }

  private async rejudge(room: RoomView): Promise<void> {
    await this.judge(room, await this.policy(room.id), await this.deps.waits.read(room.id, Date.now()), { changed: true, caughtUp: false });
  }

  /**
   * The room's state after a change: pause, resume, or tell the room who it waits for (when that
   * changed) and who is no longer catching up.
   */
  private async judge(room: RoomView, policy: BufferingPolicy, view: BufferingView, notice: Notice): Promise<void> {
    const now = Date.now();
    const online = await this.deps.presence.onlineUsers(room.id);
    const waiting = waitingUsers(view, online);
    const { wait } = view;
    if (wait) {
      // A change this instance knows of came after the pause: the wait is over (no resume of ours).
      if (room.playback.version > wait.version) return this.clear(room, room.playback.version);
      const reason = resumeReason(policy, waiting.length, online.size, now >= wait.deadline);
      if (reason) return this.resume(room, wait, reason, waiting);
      if (notice.changed || notice.caughtUp) this.announce(room, waiting, view.catchingUp, wait.deadline);
      this.arm(room.id, wait);
      return;
    }
    const { playback } = room;
    if (playback.is_playing && now >= playback.server_time + this.deps.startGraceMs && shouldPause(policy, waiting.length, online.size))
      return this.pause(room, policy, view, waiting, now);
    if (notice.caughtUp) this.announce(room, [], view.catchingUp, null);
  }

  private async pause(room: RoomView, policy: BufferingPolicy, view: BufferingView, waiting: string[], now: number): Promise<void> {
    const position = currentPosition(room.playback, now);
    const paused = await this.deps.playback.apply(room.id, "PAUSE", position, { actorId: null, expectedVersion: room.playback.version });
    if (!paused) return; // another change got there first: the next report judges again
    const wait: BufferWait = { version: paused.version, position: paused.time, deadline: now + policy.max_wait_seconds * 1000 };
    await this.deps.waits.begin(room.id, wait);
    await recordRoomEvent(this.deps.db, room.id, null, "buffering.paused", {
      policy: policy.policy,
      waiting,
      position: paused.time,
      version: paused.version,
      resumes_by: wait.deadline,
    });
    this.deps.events.publish({ type: "room.playback_changed", roomId: room.id, code: room.code, playback: paused });
    this.announce(room, waiting, view.catchingUp, wait.deadline);
    this.arm(room.id, wait);
  }

  private async resume(room: RoomView, wait: BufferWait, reason: ResumeReason, waiting: string[]): Promise<void> {
    const played = await this.deps.playback.apply(room.id, "PLAY", wait.position, {
      actorId: null,
      expectedVersion: wait.version,
      leadMs: this.deps.startLeadMs(room.id),
    });
    // Someone else resumed, or the host changed the state: whoever did ends the wait.
    if (!played) return;
    this.disarm(room.id);
    await this.deps.waits.end(room.id, played.version);
    const behind = reason === "share" || reason === "timeout" ? waiting : [];
    await this.deps.waits.leftBehind(room.id, behind, Date.now() + this.deps.cooldownMs);
    await recordRoomEvent(this.deps.db, room.id, null, "buffering.resumed", { reason, catching_up: behind, version: played.version });
    this.deps.events.publish({ type: "room.playback_changed", roomId: room.id, code: room.code, playback: played });
    const after = await this.deps.waits.read(room.id, Date.now());
    this.announce(room, [], after.catchingUp, null);
  }

  /** A playback change at `version` ends a wait paused before it (once, on whichever instance gets there). */
  private async clear(room: RoomView, version: number): Promise<void> {
    const ended = await this.deps.waits.end(room.id, version);
    if (!ended) return;
    this.disarm(room.id);
    await recordRoomEvent(this.deps.db, room.id, null, "buffering.cleared", { paused_version: ended.version, version });
    const after = await this.deps.waits.read(room.id, Date.now());
    this.announce(room, [], after.catchingUp, null);
  }

  /** A joiner during a wait (or while someone catches up) learns of it: BUFFERING_STATE is sent on changes only. */
  private async tell(room: RoomView, joiner: Sender): Promise<void> {
    const view = await this.deps.waits.read(room.id, Date.now());
    if (!view.wait && view.catchingUp.size === 0) return;
    const waiting = view.wait ? waitingUsers(view, await this.deps.presence.onlineUsers(room.id)) : [];
    joiner.connection.send(bufferingState(waiting, view.catchingUp, view.wait?.deadline ?? null));
  }

  private announce(room: RoomView, waiting: readonly string[], catchingUp: ReadonlySet<string>, resumesBy: number | null): void {
    const message = bufferingState(waiting, catchingUp, resumesBy);
    this.deps.events.publish({ type: "room.broadcast", roomId: room.id, code: room.code, message });
  }

  /** The wait's deadline, judged here (again when it has passed: any report would do the same). */
  private arm(roomId: string, wait: BufferWait): void {
    if (this.timers.has(roomId)) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(roomId);
        const room = this.rooms.get(roomId);
        if (room) this.quietly(room, () => this.rejudge(room));
      },
      Math.max(0, wait.deadline - Date.now()) + 5,
    );
    timer.unref();
    this.timers.set(roomId, timer);
  }

  private disarm(roomId: string): void {
    clearTimeout(this.timers.get(roomId));
    this.timers.delete(roomId);
  }

  private forget(roomId: string): void {
    this.disarm(roomId);
    this.rooms.delete(roomId);
    this.policies.delete(roomId);
  }

  private quietly(room: RoomView, work: () => Promise<void>): void {
    work().catch((err: unknown) => this.deps.logger.warn({ err, room: room.code }, "buffering policy failed"));
  }
}
