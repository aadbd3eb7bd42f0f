/**
 * Buffering waits: who in a room says their player is buffering (one flag per user, shared by
 * their tabs and instances), the room's wait when the buffering policy paused it, and who was
 * left behind by a resume (catching up, and cooling down: they do not pause the room again for
 * a while). The pause and the resume themselves are decided in SQL, on the playback version;
 * this family only shares what every instance must see to decide them.
 */

/** A wait the buffering policy started: the playback version of its PAUSE, where, and until when. */
export interface BufferWait {
  /** The playback version the pause made; any later version ends the wait. */
  version: number;
  /** Where the room paused (seconds): the resume plays from here. */
  position: number;
  /** When the wait gives up and the room plays without the ones still buffering (epoch ms). */
  deadline: number;
}

export interface BufferingView {
  /** Users whose latest report says buffering. */
  buffering: ReadonlySet<string>;
  wait: BufferWait | null;
  /** Users a resume left behind, until they report ready. */
  catchingUp: ReadonlySet<string>;
  /** Users who do not pause the room (nor are waited for) until the epoch ms given. */
  cooldown: ReadonlyMap<string, number>;
}

export type Reported = BufferingView & { changed: boolean; caughtUp: boolean };

export interface BufferWaits {
  /**
   * Sets the user's buffering flag (ready also ends their catching up) and reads the room's
   * state after it, in one step; `changed`: the flag changed; `caughtUp`: they were catching up.
   */
  report(roomId: string, userId: string, buffering: boolean, now: number): Promise<Reported>;
  read(roomId: string, now: number): Promise<BufferingView>;
  /** Starts the room's wait unless one is on (false then). */
  begin(roomId: string, wait: BufferWait): Promise<boolean>;
  /** Ends the room's wait if it was paused at a version below `version`; the wait it ended, once. */
  end(roomId: string, version: number): Promise<BufferWait | undefined>;
  /** A resume left these users behind: catching up, and cooling down until `until` (epoch ms). */
  leftBehind(roomId: string, userIds: readonly string[], until: number): Promise<void>;
  clearRoom(roomId: string): Promise<void>;
}

/** What a forgotten room keeps at most (every write refreshes it). */
export const BUFFER_WAITS_TTL_SECONDS = 24 * 60 * 60;
