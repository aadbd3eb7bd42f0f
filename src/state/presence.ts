/**
 * What REST needs to know about live rooms: distinct connected users and whether the host is
 * connected. The realtime state is the writer; discovery only reads through this interface.
 */

export interface RoomPresence {
  viewers: number;
  hostOnline: boolean;
}

export interface PresenceReader {
  /** Presence for each room id asked for; rooms nobody is in are absent from the map. */
  roomPresence(roomIds: readonly string[]): Promise<Map<string, RoomPresence>>;
}
