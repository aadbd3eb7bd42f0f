/**
 * The room's roster as a delta-presence client keeps it: the join snapshot (ROOM_PARTICIPANTS,
 * then ROSTER_PAGE pages until `total`), then one entry at a time from USER_JOINED / USER_LEFT
 * and ROSTER_UPDATE. A later ROOM_PARTICIPANTS (a rejoin or resume) starts it over. Entries keep
 * the server's order (join order); a joiner is added at the end.
 */
import type { ServerMessageOf, ServerMessageType } from "@streamit/protocol";

export type RosterMember = ServerMessageOf<"ROOM_PARTICIPANTS">["members"][number];

export class Roster {
  private readonly entries = new Map<string, RosterMember>();
  private expected = 0;
  private onlineCount = 0;

  /** The members in order (host and co-hosts flagged, online or not). */
  get members(): RosterMember[] {
    return [...this.entries.values()];
  }

  /** How many of them are online. */
  get online(): number {
    return this.onlineCount;
  }

  /** False while the join snapshot's pages are still coming. */
  get complete(): boolean {
    return this.entries.size >= this.expected;
  }

  get size(): number {
    return this.entries.size;
  }

  get(userId: string): RosterMember | undefined {
    return this.entries.get(userId);
  }

  /** The host's entry, if the host is in the roster. */
  get host(): RosterMember | undefined {
    for (const member of this.entries.values()) if (member.is_host) return member;
    return undefined;
  }

  /** Applies a server message; true when the roster changed. */
  apply(type: ServerMessageType, payload: Record<string, unknown>): boolean {
    switch (type) {
      case "ROOM_PARTICIPANTS": {
        const message = payload as unknown as ServerMessageOf<"ROOM_PARTICIPANTS">;
        this.entries.clear();
        this.put(message.members);
        // A server before delta presence sends no total: its roster is whole.
        this.expected = message.total ?? message.members.length;
        this.onlineCount = message.online;
        return true;
      }
      case "ROSTER_PAGE":
        this.put((payload as unknown as ServerMessageOf<"ROSTER_PAGE">).members);
        return true;
      case "ROSTER_UPDATE": {
        const message = payload as unknown as ServerMessageOf<"ROSTER_UPDATE">;
        for (const id of message.removed) this.entries.delete(id);
        this.put(message.members);
        this.onlineCount = message.online;
        return true;
      }
      case "USER_JOINED":
      case "USER_LEFT": {
        const message = payload as unknown as ServerMessageOf<"USER_JOINED">;
        if (!message.member) return false;
        this.put([message.member]);
        this.onlineCount = message.online;
        return true;
      }
      case "HOST_CHANGED": {
        // Roles move with a ROSTER_UPDATE too; this keeps the flags right until it comes.
        const next = String(payload.host_id ?? "");
        if (!this.entries.has(next)) return false;
        for (const [id, member] of this.entries) {
          if (member.is_host !== (id === next)) this.entries.set(id, { ...member, is_host: id === next });
        }
        return true;
      }
      default:
        return false;
    }
  }

  private put(members: readonly RosterMember[]): void {
    for (const member of members) this.entries.set(member.id, member);
    if (this.entries.size > this.expected) this.expected = this.entries.size;
  }
}
