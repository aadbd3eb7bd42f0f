/**
 * What the harness and a page script agree on. The project type-checks against Node's globals
 * only (tsconfig.json has no lib.dom, and it covers src/ too), so the few browser APIs the page
 * scripts touch are declared here by hand rather than pulling the DOM types into every file.
 * Nothing here may import Node modules: page scripts bundle it for the browser.
 */

/** What a client kind's `start` gets (the page itself holds one `<video id="player" muted>`). */
export interface StartOptions {
  /** The StreamIt server as this viewer reaches it (through its latency proxy). */
  serverUrl: string;
  /** The room's code (upper case). */
  code: string;
  /** The viewer's access token. */
  token: string;
  /** The media file, served with Range support. */
  videoUrl: string;
}

/** The part of HTMLVideoElement the page scripts use. */
export interface PageVideo {
  src: string;
  currentTime: number;
  playbackRate: number;
  readonly paused: boolean;
  readonly readyState: number;
  play(): Promise<void>;
  pause(): void;
  addEventListener(type: string, listener: () => void, options?: { once?: boolean }): void;
}

interface PageDocument {
  querySelector(selectors: string): unknown;
}

/** The page's player: the first `<video>` of the document. */
export function findVideo(): PageVideo | undefined {
  const document = (globalThis as unknown as { document?: PageDocument }).document;
  return (document?.querySelector("video") as PageVideo | null | undefined) ?? undefined;
}

/** The true time (epoch ms): the monotonic clock from the page's origin, untouched by a skewed Date. */
export const trueNow = (): number => performance.timeOrigin + performance.now();
