/**
 * Skip votes: who voted to skip what a room plays now. One vote per user (their tabs and
 * instances share it), counted per media item, so a new item starts with none.
 */
export interface SkipVotes {
  /** Casts (`on`) or takes back the user's vote for the item; the item's vote count after it. */
  vote(roomId: string, itemId: string, userId: string, on: boolean): Promise<number>;
  /** The item's vote count. */
  count(roomId: string, itemId: string): Promise<number>;
  clearRoom(roomId: string): Promise<void>;
}

/** Votes lapse with their item anyway; this bounds what a forgotten item keeps. */
export const SKIP_VOTES_TTL_SECONDS = 24 * 60 * 60;
