/** The chat feature's client messages. */
import { CHAT_MAX_LENGTH, clientMessages } from "@streamit/protocol";
import type { ModerationService } from "../moderation/service.js";
import { defineFeature, entry } from "../protocol/feature.js";
import { fail, ok } from "../protocol/results.js";
import type { ChatGate } from "../state/chat-gate/chat-gate.js";
import { type ChatService, chatMessageId } from "./service.js";

export interface ChatServices {
  chat: ChatService;
  gate: ChatGate;
  moderation: ModerationService;
}

const on = entry<ChatServices>();

export const chatFeature = defineFeature<ChatServices>()("chat", {
  CHAT_MESSAGE: on({
    schema: clientMessages.CHAT_MESSAGE,
    who: "member",
    summary:
      "Posts a chat message (trimmed; blank ones are acked `ignored`). Everyone gets CHAT_MESSAGE; the ack carries `id` and `created_at`.",
    errors: ["CHAT_DISABLED", "MESSAGE_TOO_LONG", "MUTED", "SLOW_MODE", "RATE_LIMITED", "DUPLICATE_MESSAGE"],
    async handle(ctx, message) {
      const { room, sender } = ctx;
      if (!room.chatEnabled) return fail("CHAT_DISABLED", "Chat is disabled in this room");
      const text = message.message.trim();
      if (text === "") return ok({ ignored: true });
      if ([...text].length > CHAT_MAX_LENGTH) return fail("MESSAGE_TOO_LONG", "Message too long.");
      // Per user: one person's tabs share their ids, nobody else's ("/" cannot occur in an id).
      const clientId = message.command_id;
      const key = clientId === undefined ? undefined : `chat/${sender.user.id}/${clientId}`;
      const messageId = clientId === undefined ? undefined : chatMessageId(room.id, sender.user.id, clientId);
      return ctx.once(
        key,
        () => ok({ duplicate: true }),
        async () => {
          const { chat, gate, moderation } = ctx.services;
          const { user } = sender;
          // Slow mode spares those who may moderate, as the database has it (asked only when it is on).
          const slowModeMs =
            room.slowModeSeconds > 0 && !(await moderation.mayModerate(room.id, user.id)) ? room.slowModeSeconds * 1000 : 0;
          switch (await gate.check(room.id, user.id, text, slowModeMs)) {
            case "muted":
              return fail("MUTED", "You are muted in this room");
            case "slow_mode":
              return fail("SLOW_MODE", `Slow mode is on: one message every ${room.slowModeSeconds} s.`);
            case "rate_limited":
              return fail("RATE_LIMITED", "Rate limit exceeded. Please wait.");
            case "duplicate":
              return fail("DUPLICATE_MESSAGE", "Duplicate message blocked.");
          }
          let posted: Awaited<ReturnType<ChatService["post"]>>;
          try {
            posted = await chat.post(room.id, user, text, messageId);
          } catch (err) {
            // Not posted: it must not count against the sender's limits (a retry would be refused).
            await gate.refund(room.id, user.id, text).catch(() => {});
            throw err;
          }
          // `stored`: an earlier try was committed but its answer lost, so it never went out. It goes
          // out now, as stored (the resend's text does not replace it).
          const { stored, ...posting } = posted;
          await ctx.broadcast({ type: "CHAT_MESSAGE", ...posting }, { logKey: `chat:${posting.id}` });
          return ok({ id: posting.id, created_at: posting.created_at });
        },
      );
    },
  }),
});
