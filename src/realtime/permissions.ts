/** Who may do what in a live room: the host, and co-hosts as the room allows. */
import type { LiveRoom } from "./hub.js";
import type { Member } from "./types.js";

/** A co-host (never a guest) of the room. */
const isCohost = (live: LiveRoom, member: Member): boolean => !member.user.is_guest && live.roles.cohosts.includes(member.user.id);

/** The host, or a co-host when the room lets co-hosts drive playback. */
export const canControlPlayback = (live: LiveRoom, member: Member): boolean =>
  member.isHost || (live.roles.cohosts_control_playback && isCohost(live, member));

/** The host, or a co-host when the room lets co-hosts moderate (the sync summary is theirs too). */
export const canModerate = (live: LiveRoom, member: Member): boolean =>
  member.isHost || (live.roles.cohosts_moderate && isCohost(live, member));
