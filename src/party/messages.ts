/**
 * The party feature's client message: SET_PARTY_TIME, the socket twin of POST /api/rooms/party/.
 * The service judges the sender in its transaction (host, and co-hosts when the room lets them
 * control playback) and tells everyone (PARTY_STARTS_AT through the room event).
 */
import { clientMessages } from "@streamit/protocol";
import { defineFeature, entry } from "../protocol/feature.js";
import { ok } from "../protocol/results.js";
import type { PartyService } from "./service.js";

export interface PartyServices {
  party: PartyService;
}

export const partyFeature = defineFeature<PartyServices>()("party", {
  SET_PARTY_TIME: entry<PartyServices>()({
    schema: clientMessages.SET_PARTY_TIME,
    who: "playback",
    summary:
      "Schedules the room's party (playback starts by itself at `starts_at`, in sync), moves it, or clears it (`null`). In the future and at most 30 days ahead (`PARTY_MAX_DAYS_AHEAD`), else VALIDATION_FAILED. Everyone gets PARTY_STARTS_AT; the ack carries `starts_at`.",
    errors: ["PERMISSION_DENIED", "VALIDATION_FAILED"],
    async handle(ctx, message) {
      const startsAt = message.starts_at === null ? null : new Date(message.starts_at);
      const set = await ctx.services.party.set(ctx.sender.user, ctx.room.id, startsAt);
      return ok({ starts_at: set.party_starts_at });
    },
  }),
});
