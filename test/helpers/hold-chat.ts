/**
 * Holds chat messages inside the app's chat service: `inFlight` resolves once one has entered
 * it, and none finishes before `release()`. A drain waits for them, so the server keeps
 * listening meanwhile (the shutdown and readiness tests).
 */

import type { StreamItApp } from "../../src/app.js";
import type { ChatService } from "../../src/chat/service.js";

export function holdChatPosts(app: StreamItApp): { inFlight: Promise<void>; release: () => void } {
  const chat = app.services.chat as ChatService & { post: ChatService["post"] };
  const post = chat.post.bind(chat);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const inFlight = new Promise<void>((resolve) => (entered = resolve));
  chat.post = async (...args) => {
    entered();
    await gate;
    return post(...args);
  };
  return { inFlight, release };
}
