/**
 * Admission: the connect checks in the original's order (token, username, room, ban, room
 * state, participant status), the wait of a pending user for the host's answer, and the join
 * snapshot's data. Every refusal is a JoinRejected with the contract's close code.
 */

import type { ServerMessageOf } from "@streamit/protocol";
import { CLOSE_CODES } from "@streamit/protocol";
import type { Room } from "../../db/schema.js";
import type { AuthenticatedUser, AuthService } from "../auth/service.js";
import type { ChatEntry, ChatService } from "../chat/service.js";
import type { DB } from "../db.js";
import { isAppError, isDependencyDown } from "../errors.js";
import type { RoomLifecycle } from "../lifecycle/service.js";
import type { PlaybackService } from "../playback/service.js";
import type { PlaybackSnapshot } from "../playback/snapshot.js";
import { findRoomForUser } from "../rooms/codes.js";
import { isHost } from "../rooms/permissions.js";
import type { RoomLog } from "../state/room-log.js";
import type { ApprovalOutcome, ApprovalWaits } from "./approvals.js";
import type { ConnectionGuard } from "./guard.js";
import type { LiveRooms } from "./live-rooms.js";
import type { RealtimeMeter } from "./meter.js";
import { type HubLogger, JoinRejected, type ResumeRequest } from "./types.js";

/** A pending user's connection that waits for the host's answer (see Admissions.admit). */
export interface ApprovalWait {
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
  /** Tells the client it is waiting (a transport that can speak before admission). */
  onPending?: (message: ServerMessageOf<"JOIN_PENDING">) => void;
}

export interface Admission {
  /** The client's address, for the per-address socket limit. */
  client: string;
  user: AuthenticatedUser;
  room: Room;
  isHost: boolean;
  history: ChatEntry[];
  playback: PlaybackSnapshot;
  /** Set when the client asked for a resumable session. */
  resume?: ResumeRequest | undefined;
  /** The session being resumed (a valid token of this user in this room). */
  resumeFrom?: { lastSeq: number; connectionId: string } | undefined;
  /** When admission began (performance.now()), moved on by any wait for the host: the join's clock. */
  startedAt: number;
}

export interface AdmissionDeps {
  db: DB;
  auth: AuthService;
  chat: ChatService;
  playback: PlaybackService;
  lifecycle: RoomLifecycle;
  approvals: ApprovalWaits;
  guard: ConnectionGuard | undefined;
  rooms: LiveRooms;
  /** The room log, when resumable sessions are on. */
  log: () => RoomLog | undefined;
  draining: () => boolean;
  logger: HubLogger;
  meter: RealtimeMeter;
}

const restarting = () => new JoinRejected(CLOSE_CODES.SERVICE_RESTART, "SERVICE_UNAVAILABLE", "Server restarting");

export class Admissions {
  constructor(private readonly deps: AdmissionDeps) {}

  /**
   * The connect checks; throws JoinRejected with the close code. With `wait`, a pending user's
   * connection waits (up to APPROVAL_WAIT_SECONDS) for the host's answer instead of being
   * refused at once: approved, the admission goes on.
   */
  async admit(
    token: string | null | undefined,
    rawCode: string,
    client: string,
    resume?: ResumeRequest,
    wait?: ApprovalWait,
  ): Promise<Admission> {
    const clock = { startedAt: performance.now() };
    try {
      return { ...(await this.check(token, rawCode, client, clock, resume, wait)), startedAt: clock.startedAt };
    } catch (err) {
      throw this.rejection(err, "admission failed");
    }
  }

  /**
   * What a client is told when its admission or join failed for a reason of the server's own (a
   * dependency timed out under load, a bug): 1013 "try again later", never 1011, which clients of
   * the original read as a crash. Logged: a dependency at warn level, anything else as an error.
   */
  rejection(err: unknown, what: string): JoinRejected {
    if (err instanceof JoinRejected) return err;
    if (isDependencyDown(err)) this.deps.logger.warn({ err }, `${what}: a dependency is unavailable`);
    else this.deps.logger.error({ err }, what);
    return new JoinRejected(CLOSE_CODES.TRY_AGAIN_LATER, "SERVICE_UNAVAILABLE", "Temporarily unavailable, please reconnect");
  }

  private async check(
    token: string | null | undefined,
    rawCode: string,
    client: string,
    clock: { startedAt: number },
    resume?: ResumeRequest,
    wait?: ApprovalWait,
  ): Promise<Omit<Admission, "startedAt">> {
    if (this.deps.draining()) throw restarting();
    if (!token) throw new JoinRejected(CLOSE_CODES.UNAUTHENTICATED, "AUTH_REQUIRED", "Authentication required");
    const user = await this.authenticate(token);
    if (!user.username) throw new JoinRejected(CLOSE_CODES.FORBIDDEN, "USERNAME_REQUIRED", "Please set a username first.");
    const { room, participantStatus } = await this.findRoom(rawCode, user.id);
    if (participantStatus === "PENDING" && wait) {
      const waitedFrom = performance.now();
      await this.awaitApproval(room, user.id, wait);
      // The host's answer is not the join's own time.
      clock.startedAt += performance.now() - waitedFrom;
      // Answered: every check runs again (a ban, a deleted room or a revoked session count).
      return this.check(token, rawCode, client, clock, resume);
    }
    if (participantStatus !== "APPROVED") {
      throw participantStatus === "PENDING"
        ? new JoinRejected(CLOSE_CODES.FORBIDDEN, "NOT_APPROVED", "Waiting for host approval")
        : new JoinRejected(CLOSE_CODES.FORBIDDEN, "NOT_A_PARTICIPANT", "Not a participant");
    }
    const cached = this.deps.rooms.get(room.code);
    const [history, playback] = await Promise.all([
      this.deps.chat.history(room.id),
      cached ? Promise.resolve(cached.playback) : this.deps.playback.load(room.id),
    ]);
    const log = this.deps.log();
    let resumeFrom: Admission["resumeFrom"];
    if (log && resume?.token) {
      // The token is used up either way; a valid one of this user in this room resumes.
      const held = await log.take(resume.token);
      if (held && held.userId === user.id && held.roomId === room.id)
        resumeFrom = { lastSeq: resume.lastSeq, connectionId: held.connectionId };
    }
    return { client, user, room, isHost: isHost(user, room), history, playback, resume: log ? resume : undefined, resumeFrom };
  }

  private async authenticate(token: string): Promise<AuthenticatedUser> {
    try {
      return await this.deps.auth.authenticate(token);
    } catch (err) {
      if (isAppError(err)) throw new JoinRejected(CLOSE_CODES.UNAUTHENTICATED, "INVALID_TOKEN", "Invalid or expired token");
      throw err;
    }
  }

  /** The room, if the user may be let in by its state (a ban or a closed room refuses). */
  private async findRoom(rawCode: string, userId: string) {
    const found = await findRoomForUser(this.deps.db, rawCode, userId);
    if (!found) throw new JoinRejected(CLOSE_CODES.ROOM_NOT_FOUND, "ROOM_NOT_FOUND", "Room not found");
    const { room, banned } = found;
    if (banned) throw new JoinRejected(CLOSE_CODES.BANNED, "BANNED", "You are banned from this room");
    if (room.state === "DELETED" || room.state === "EXPIRED") {
      throw new JoinRejected(CLOSE_CODES.ROOM_INACTIVE, "ROOM_INACTIVE", "Room is no longer active");
    }
    if (room.state === "GRACE" && room.grace_ends_at && room.grace_ends_at.getTime() <= Date.now()) {
      // Grace is over: the room expires, unless its policy hands it to a successor or it rests.
      await this.deps.lifecycle.expire(room.id);
      const after = await findRoomForUser(this.deps.db, rawCode, userId);
      if (!after || (after.room.state !== "LIVE" && after.room.state !== "RESTING")) {
        throw new JoinRejected(CLOSE_CODES.GRACE_EXPIRED, "ROOM_EXPIRED", "Room has expired");
      }
      Object.assign(room, after.room);
    }
    return found;
  }

  private async awaitApproval(room: Room, userId: string, wait: ApprovalWait): Promise<void> {
    const stillPending = async () => (await findRoomForUser(this.deps.db, room.code, userId))?.participantStatus === "PENDING";
    // A waiting connection counts against the open-socket limits like a member's.
    const release = this.deps.guard?.claimUser(userId);
    let outcome: ApprovalOutcome = "gone";
    const waitedFrom = performance.now();
    try {
      wait.onPending?.({ type: "JOIN_PENDING", room_id: room.id, code: room.code, wait_seconds: this.deps.approvals.waitSeconds });
      outcome = await this.deps.approvals.wait(room.id, userId, stillPending, wait.signal);
    } finally {
      release?.();
      this.deps.meter.approvalWaited(outcome, (performance.now() - waitedFrom) / 1000);
    }
    switch (outcome) {
      case "answered":
        return;
      case "rejected":
        throw new JoinRejected(CLOSE_CODES.FORBIDDEN, "JOIN_REJECTED", "The host declined your request");
      default:
        throw new JoinRejected(CLOSE_CODES.FORBIDDEN, "NOT_APPROVED", "Waiting for host approval");
    }
  }
}
