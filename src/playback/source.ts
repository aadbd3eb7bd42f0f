/**
 * A room's media source over REST: the host picks what the room watches. The provider checks
 * the source; the room's media and a reset playback (new version) are written with the timeline
 * row, then published as a RoomEvent (the hub tells the room). Transport-free.
 */
import { sql } from "kysely";
import type { MediaType } from "../../db/schema.js";
import type { AuthUser } from "../auth/users.js";
import type { DB } from "../db.js";
import type { RoomEventBus } from "../events/room-events.js";
import { assertJoinable } from "../lifecycle/transitions.js";
import type { ProviderRegistry } from "../providers/registry.js";
import { mediaSourceOf, requireHostOf } from "../rooms/service.js";
import { recordRoomEvent } from "../timeline/timeline.js";
import { toPlaybackSnapshot } from "./snapshot.js";

export interface SourceInput {
  room_id: string;
  provider: string;
  video_id: string;
  media_type?: MediaType | undefined;
  season?: number | null | undefined;
  episode?: number | null | undefined;
}

export class SourceService {
  constructor(
    private readonly db: DB,
    private readonly events: RoomEventBus,
    private readonly providers: ProviderRegistry,
  ) {}

  /** Changes the room's media, resets playback (new version) and tells the room. */
  async setSource(user: AuthUser, input: SourceInput) {
    const room = await requireHostOf(this.db, user, input.room_id, "Only host can update room media");
    assertJoinable(room);
    const provider = this.providers.get(input.provider);
    const source = provider.validateSource({
      provider: provider.name,
      media_type: input.media_type ?? "movie",
      external_id: input.video_id,
      season: input.season ?? null,
      episode: input.episode ?? null,
    });
    if (source.media_type === "movie") {
      source.season = null;
      source.episode = null;
    }
    // Before the transaction (no lock held while it waits): best-effort, null when unknown.
    const metadata = await this.providers.metadata(source);
    const { updated, playback } = await this.db.transaction().execute(async (trx) => {
      // The source replaced, read under the row lock the update takes anyway (for the timeline).
      const previous = await trx
        .selectFrom("rooms")
        .select(["video_provider", "video_id", "media_type", "season", "episode"])
        .where("id", "=", room.id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const updatedRoom = await trx
        .updateTable("rooms")
        .set({
          video_provider: source.provider,
          video_id: source.external_id,
          media_type: source.media_type,
          season: source.season,
          episode: source.episode,
          // A new item: skip votes lapse; known of it is what the provider's metadata said.
          media_item_id: sql`gen_random_uuid()`,
          media_title: metadata?.title ?? null,
          media_duration_seconds: metadata?.duration ?? null,
          updated_at: sql`now()`,
        })
        .where("id", "=", room.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      const state = await trx
        .insertInto("playback_states")
        .values({ room_id: room.id, version: 1 })
        .onConflict((oc) =>
          oc.column("room_id").doUpdateSet({
            is_playing: false,
            position_seconds: 0,
            rate: 1,
            version: sql`playback_states.version + 1`,
            updated_at: sql`clock_timestamp()`,
          }),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      const from = previous.video_id
        ? {
            provider: previous.video_provider,
            media_type: previous.media_type,
            external_id: previous.video_id,
            season: previous.season,
            episode: previous.episode,
          }
        : null;
      await recordRoomEvent(trx, room.id, user.id, "room.source_changed", { from, to: source, version: state.version });
      return { updated: updatedRoom, playback: toPlaybackSnapshot(state) };
    });
    const media = mediaSourceOf(this.providers, updated);
    this.events.publish({ type: "room.source_changed", roomId: room.id, code: room.code, source: media, playback });
    return { room_id: room.id, ...media };
  }
}
