/** The buffering policy's client message: the host sets it over the socket as over REST. */
import { clientMessages } from "@streamit/protocol";
import { defineFeature, entry } from "../protocol/feature.js";
import { ok } from "../protocol/results.js";
import type { BufferingSettingsService } from "./settings.js";

export interface BufferingServices {
  settings: BufferingSettingsService;
}

export const bufferingFeature = defineFeature<BufferingServices>()("buffering", {
  SET_BUFFERING_POLICY: entry<BufferingServices>()({
    schema: clientMessages.SET_BUFFERING_POLICY,
    who: "host",
    summary:
      "Added: sets the room's buffering policy (`never`, `wait_for_all`, `wait_for_share`; `max_wait_seconds` 1–120, `ready_percent` 1–100; numbers left out keep their values), as POST /api/rooms/buffering/ does. Everyone gets BUFFERING_POLICY; the ack carries the policy in force.",
    errors: ["PERMISSION_DENIED", "VALIDATION_FAILED"],
    async handle({ room, sender, services }, message) {
      const { room_id: _id, ...policy } = await services.settings.set(sender.user, room.id, message);
      return ok(policy);
    },
  }),
});
