/**
 * This instance's copy of who may do what in a live room, for display only (the sync summary
 * goes to those who may moderate). It follows other instances' changes only when their
 * `room.roles_changed` / `room.host_changed` event arrives, so commands are never judged by it:
 * they are judged in the database with the command (rooms/authority.ts).
 */
import type { LiveRoom } from "./hub.js";
import type { Member } from "./types.js";

/** A co-host (never a guest) of the room. */
const isCohost = (live: LiveRoom, member: Member): boolean => !member.user.is_guest && live.roles.cohosts.includes(member.user.id);

/** The host, or a co-host when the room lets co-hosts moderate (the sync summary is theirs too). */
export const canModerate = (live: LiveRoom, member: Member): boolean =>
  member.isHost || (live.roles.cohosts_moderate && isCohost(live, member));
