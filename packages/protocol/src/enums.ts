/** Value sets that messages and the REST API share with the database (which stores them). */
import { z } from "zod";

export const MEDIA_TYPES = ["movie", "tv"] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];
/** Who takes over when the host's grace runs out. */
export const SUCCESSION_POLICIES = ["EXPIRE", "COHOST", "ANYONE"] as const;
export type SuccessionPolicy = (typeof SUCCESSION_POLICIES)[number];

/** The room's media, as SOURCE_CHANGED and the room's REST answers carry it. */
export const mediaSourceFields = {
  video_provider: z.string(),
  video_id: z.string(),
  media_type: z.enum(MEDIA_TYPES).nullable(),
  season: z.number().int().nullable(),
  episode: z.number().int().nullable(),
  embed_url: z.string().nullable(),
};
