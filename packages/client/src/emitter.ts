/** A small typed event emitter (no Node `events` in the browser build). */

// biome-ignore lint/suspicious/noExplicitAny: the handler map is keyed by event, each with its own arguments.
export type EventMap = Record<string, (...args: any[]) => void>;

export class Emitter<E extends EventMap> {
  private readonly handlers = new Map<keyof E, Set<E[keyof E]>>();

  /** Subscribes `handler`; the returned function unsubscribes it. */
  on<K extends keyof E>(event: K, handler: E[K]): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler);
    return () => this.off(event, handler);
  }

  off<K extends keyof E>(event: K, handler: E[K]): void {
    this.handlers.get(event)?.delete(handler);
  }

  emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    const set = this.handlers.get(event);
    if (!set) return;
    for (const handler of [...set]) {
      try {
        handler(...args);
      } catch (err) {
        // One faulty subscriber must not starve the others nor break the SDK's own flow.
        reportLater(err);
      }
    }
  }

  clear(): void {
    this.handlers.clear();
  }
}

/** Rethrows outside the current stack, so the error is visible (console, unhandled) but not ours. */
function reportLater(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}
