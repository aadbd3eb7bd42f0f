/**
 * Resumable sessions and token lifetimes. A resumable connection gets a resume token (SESSION);
 * when it drops, its presence lingers for a moment and its token stays valid for the resume
 * window, so a quick reconnect replays what it missed instead of a full re-join. Every
 * connection lives as long as the access token it presented, or a fresher one from REAUTH.
 */

import { CLOSE_CODES } from "@streamit/protocol";
import type { AuthenticatedUser } from "../auth/service.js";
import type { RoomLog } from "../state/room-log.js";
import type { RoomFanout } from "./fanout.js";
import type { LiveRoom } from "./live-room.js";
import type { Connection, HubLogger, Member } from "./types.js";

/** A resume token lives this long while its connection is open (the window starts at the drop). */
const SESSION_TOKEN_TTL_MS = 24 * 3600 * 1000;

export interface ResumeOptions {
  log: RoomLog;
  windowMs: number;
  /** How long a dropped resumable client stays present. */
  lingerMs: number;
}

interface Lingering {
  live: LiveRoom;
  timer: NodeJS.Timeout;
  finish: () => Promise<void>;
}

export class Sessions {
  /** Resumable connections that dropped: their leave waits (connection id → the deferred leave). */
  private readonly lingering = new Map<string, Lingering>();

  constructor(
    private readonly resume: ResumeOptions | undefined,
    private readonly fanout: RoomFanout,
    private readonly logger: HubLogger,
  ) {}

  /** The room log, when resumable sessions are on. */
  get log(): RoomLog | undefined {
    return this.resume && this.resume.windowMs > 0 ? this.resume.log : undefined;
  }

  isLingering(live: LiveRoom): boolean {
    return [...this.lingering.values()].some((lingering) => lingering.live === live);
  }

  /**
   * A resumed session gets the logged room messages it missed, in order, each with its seq, in
   * the room's send order (nothing this instance sends to the room can overtake it); when the
   * log no longer has them all, `snapshot` (the full join snapshot) instead.
   */
  replay(live: LiveRoom, connection: Connection, lastSeq: number, snapshot: () => void): Promise<void> {
    return this.fanout.inSendOrder(live, async () => {
      const entries = await this.log!.since(live.id, lastSeq).catch(() => null);
      if (!entries) return snapshot();
      connection.send({ type: "RESUMED", missed: entries.length, from_seq: lastSeq });
      for (const entry of entries) connection.sendEncoded(entry.json, entry.seq);
    });
  }

  /** Tells a resumable connection its resume token and log position (a new token each join). */
  issue(live: LiveRoom, member: Member): Promise<void> {
    const resume = this.resume!;
    return this.fanout.inSendOrder(live, async () => {
      try {
        const hold = { userId: member.user.id, roomId: live.id, connectionId: member.connection.id };
        // Valid while connected (a day at most); the resume window starts when the connection drops.
        const [token, seq] = await Promise.all([
          resume.log.issue(hold, Math.max(resume.windowMs, SESSION_TOKEN_TTL_MS)),
          resume.log.head(live.id),
        ]);
        member.resumeToken = token;
        member.connection.send({ type: "SESSION", resume_token: token, resume_window_seconds: resume.windowMs / 1000, seq });
      } catch (err) {
        this.logger.warn({ err, room: live.code }, "could not issue a resume token");
      }
    });
  }

  /**
   * A leaving member's session: a dropped resumable one starts its resume window and lingers
   * (true: `leave` runs later, when the lingering ends); any other's token is dropped.
   */
  async onLeave(live: LiveRoom, member: Member, dropped: boolean, canLinger: boolean, leave: () => Promise<void>): Promise<boolean> {
    const resume = this.resume;
    if (!member.resumeToken || !resume) return false;
    if (dropped && resume.windowMs > 0 && canLinger) {
      // The resume window starts now; presence holds for the linger time.
      await resume.log.hold(member.resumeToken, resume.windowMs).catch(() => {});
      if (resume.lingerMs <= 0) return false;
      const id = member.connection.id;
      const timer = setTimeout(() => void this.finishLingering(id), resume.lingerMs);
      this.lingering.set(id, { live, timer, finish: leave });
      return true;
    }
    await resume.log.drop(member.resumeToken).catch(() => {});
    return false;
  }

  /** Ends a lingering connection's presence now (its resume arrived, its time ran out, or a drain). */
  async finishLingering(connectionId: string): Promise<void> {
    const lingering = this.lingering.get(connectionId);
    if (!lingering) return;
    this.lingering.delete(connectionId);
    clearTimeout(lingering.timer);
    try {
      await lingering.finish();
    } catch (err) {
      this.logger.error({ err, connection: connectionId }, "leave failed");
    }
  }

  async finishAll(): Promise<void> {
    await Promise.all([...this.lingering.keys()].map((id) => this.finishLingering(id)));
  }

  /**
   * A socket lives as long as the access token it presented: at its expiry the connection is
   * closed with 4001 `Token expired`, unless REAUTH brought a fresh token of the same user first.
   */
  armExpiry(member: Member): void {
    clearTimeout(member.expiry);
    const left = member.user.token_expires_at - Date.now();
    // setTimeout holds at most ~24.8 days: a longer-lived token is checked again then.
    member.expiry = setTimeout(
      () => {
        if (member.user.token_expires_at > Date.now()) return this.armExpiry(member);
        member.connection.close(CLOSE_CODES.UNAUTHENTICATED, "Token expired");
      },
      Math.min(Math.max(0, left), 2 ** 31 - 1),
    ).unref();
  }

  /** REAUTH: the member now lives as long as `user`'s token (its session and expiry). */
  extend(member: Member, user: AuthenticatedUser): void {
    member.user = { ...member.user, session_id: user.session_id, token_expires_at: user.token_expires_at };
    this.armExpiry(member);
  }
}
