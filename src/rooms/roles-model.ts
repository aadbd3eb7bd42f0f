/** What a room allows its co-hosts and who succeeds its host: plain data, shared by the event bus and the services. */
import type { Room, SuccessionPolicy } from "../../db/schema.js";

/** What the room allows its co-hosts and who succeeds the host (announced as COHOSTS_CHANGED). */
export interface RoomRoles {
  cohosts: string[];
  succession: SuccessionPolicy;
  cohosts_control_playback: boolean;
  cohosts_moderate: boolean;
}

export type HostPolicy = Partial<Omit<RoomRoles, "cohosts">>;

export const rolesOf = (room: Room, cohosts: string[]): RoomRoles => ({
  cohosts,
  succession: room.succession,
  cohosts_control_playback: room.cohosts_control_playback,
  cohosts_moderate: room.cohosts_moderate,
});
