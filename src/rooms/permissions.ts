/** Who may do what in a room (the original's PermissionService, with consistent host checks). */
import type { AuthUser } from "../auth/users.js";

/** Hosting needs a registered (non-guest) account with a username. */
export const canHost = (user: AuthUser): boolean => !user.is_guest && Boolean(user.username);

/** The room's host; guests can never host, so no guest "host" gets host powers. */
export const isHost = (user: Pick<AuthUser, "id" | "is_guest">, room: { host_id: string }): boolean =>
  !user.is_guest && room.host_id === user.id;

export const canControlPlayback = isHost;
export const canModerate = isHost;
