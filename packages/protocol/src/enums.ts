/** Value sets that messages and the REST API share with the database (which stores them). */
import { z } from "zod";

export const MEDIA_TYPES = ["movie", "tv"] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];
/** Who takes over when the host's grace runs out. */
export const SUCCESSION_POLICIES = ["EXPIRE", "COHOST", "ANYONE"] as const;
export type SuccessionPolicy = (typeof SUCCESSION_POLICIES)[number];
/** Whether a viewer who buffers pauses the room: never, until all are ready, until a share is ready (docs/buffering.md). */
export const BUFFERING_POLICIES = ["never", "wait_for_all", "wait_for_share"] as const;
export type BufferingPolicyName = (typeof BUFFERING_POLICIES)[number];

/** A room's buffering policy, as BUFFERING_POLICY, the room detail and POST /api/rooms/buffering/ carry it. */
export const bufferingPolicyFields = {
  policy: z.enum(BUFFERING_POLICIES),
  /** The longest a wait lasts (s): then the room plays, and whoever still buffers is catching up. */
  max_wait_seconds: z.number().int(),
  /** wait_for_share: the room resumes once this share (%) of the online members is ready. */
  ready_percent: z.number().int(),
};

/**
 * What a source's player can do, as its provider declares it: a client picks its correction mode
 * from it (rate nudges only where `rate_control`; otherwise drift is fixed by seeking).
 */
export const mediaCapabilities = z
  .object({
    precise_seek: z.boolean().describe("A seek lands where asked (a `<video>`); false: it may land on a keyframe nearby"),
    rate_control: z.boolean().describe("The player's rate can be set from the page (small rate nudges correct drift)"),
    live: z.boolean().describe("A live stream (no fixed timeline); false: on demand"),
  })
  .describe("What the source's player can do (docs/media.md)");
export type MediaCapabilities = z.infer<typeof mediaCapabilities>;

/** The room's media, as SOURCE_CHANGED and the room's REST answers carry it. */
export const mediaSourceFields = {
  video_provider: z.string(),
  video_id: z.string(),
  media_type: z.enum(MEDIA_TYPES).nullable(),
  season: z.number().int().nullable(),
  episode: z.number().int().nullable(),
  embed_url: z.string().nullable(),
  /** Added: what plays now (new with every source change; skip votes count for it), null before any media. */
  item_id: z.uuid().nullable().optional(),
  /** Added: the title and duration (s) when known (a queue item's, or the provider's). */
  title: z.string().nullable().optional(),
  duration: z.number().nullable().optional(),
  /** Added: an image of the item when the provider knows one (YouTube), else null. */
  thumbnail: z.string().nullable().optional(),
  /** Added: what the source's player can do; null before any media. */
  capabilities: mediaCapabilities.nullable().optional(),
};

/** A queued media item, as QUEUE_UPDATED and GET /api/rooms/queue/ carry it. */
export const queueItemFields = {
  id: z.uuid(),
  provider: z.string(),
  video_id: z.string(),
  media_type: z.enum(MEDIA_TYPES),
  season: z.number().int().nullable(),
  episode: z.number().int().nullable(),
  title: z.string().nullable(),
  duration: z.number().nullable(),
  added_by: z.uuid().nullable(),
  embed_url: z.string().nullable(),
};
