/** A room's media as clients see it (REST detail/source and the SOURCE_CHANGED message). */
import { z } from "zod";
import { MEDIA_TYPES, type MediaType } from "../../db/schema.js";

export const mediaSourceFields = {
  video_provider: z.string(),
  video_id: z.string(),
  media_type: z.enum(MEDIA_TYPES).nullable(),
  season: z.number().int().nullable(),
  episode: z.number().int().nullable(),
  embed_url: z.string().nullable(),
};

export interface MediaSource {
  video_provider: string;
  video_id: string;
  media_type: MediaType | null;
  season: number | null;
  episode: number | null;
  embed_url: string | null;
}
