/**
 * What user text may contain, for REST bodies and socket messages alike.
 *
 * Everywhere: no NUL (PostgreSQL text cannot hold it) and no lone UTF-16 surrogate (it cannot
 * be stored as UTF-8: PostgreSQL would keep U+FFFD, so what was acked and broadcast would differ
 * from what was stored). Both are refused, never repaired, so the sender learns of it.
 *
 * Text shown to other people has a policy of its own (refused, not stripped: a silent change
 * would make the sender's text differ from what everyone sees):
 * - display names: no control characters at all, no bidirectional controls (embeddings,
 *   overrides, isolates, directional marks) and no invisible formatting characters (zero-width
 *   space, word joiner, invisible operators, BOM, soft hyphen), which would let one name pass
 *   for another. Zero-width (non-)joiners stay: emoji sequences and several scripts need them.
 * - chat and moderation reasons: control characters but tab and line breaks, and the bidi
 *   embeddings, overrides and isolates (which reorder the text after them) are refused; the
 *   directional marks (LRM, RLM, ALM) stay, right-to-left writers use them.
 */

declare global {
  interface String {
    /** ES2024 (Node 20 has it; the project's lib is ES2023). */
    isWellFormed(): boolean;
  }
}

const NUL = "\u0000";
const BIDI_OVERRIDES = /[\u202A-\u202E\u2066-\u2069]/u;
const NAME_FORBIDDEN = /[\u0000-\u001F\u007F-\u009F\u00AD\u061C\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u;
const MESSAGE_CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;

/** Why a string cannot be stored as sent (NUL, lone surrogate), or undefined when it can. */
export function encodingProblem(text: string): string | undefined {
  if (text.includes(NUL)) return "must not contain NUL characters";
  if (!text.isWellFormed()) return "must be valid Unicode (it contains a lone surrogate)";
  return undefined;
}

/**
 * The first string anywhere in a decoded JSON value (keys too) that cannot be stored, with its
 * path. Iterative: a deeply nested body must not exhaust the stack.
 */
export function findEncodingProblem(value: unknown): string | undefined {
  const stack: [unknown, string][] = [[value, ""]];
  while (stack.length > 0) {
    const [item, path] = stack.pop()!;
    if (typeof item === "string") {
      const problem = encodingProblem(item);
      if (problem) return `${path ? `${path}: ` : ""}Strings ${problem}`;
      continue;
    }
    if (typeof item !== "object" || item === null) continue;
    for (const [key, child] of Object.entries(item)) {
      const keyProblem = encodingProblem(key);
      if (keyProblem) return `Keys ${keyProblem}`;
      stack.push([child, path ? `${path}.${key}` : key]);
    }
  }
  return undefined;
}

/** Why a display name cannot be used as given, or undefined. */
export function displayNameProblem(name: string): string | undefined {
  return NAME_FORBIDDEN.test(name) ? "must not contain control, bidirectional or invisible formatting characters" : encodingProblem(name);
}

/** Why a chat message or a moderation reason cannot be posted as given, or undefined. */
export function messageProblem(text: string): string | undefined {
  if (text.includes(NUL)) return "must not contain NUL characters";
  if (MESSAGE_CONTROLS.test(text)) return "must not contain control characters (tab and line breaks are fine)";
  if (BIDI_OVERRIDES.test(text)) return "must not contain bidirectional embedding, override or isolate characters";
  return encodingProblem(text);
}
