/**
 * Runs before every test file (vitest `setupFiles`): the realtime clients a test opens are closed
 * after it, passed or failed (see open-clients.ts). Registered first, this `afterEach` runs after
 * the file's own (vitest runs after-hooks in reverse order).
 */
import { afterEach, beforeEach } from "vitest";
import { beginTestScope, endTestScope } from "./open-clients.js";

beforeEach(() => beginTestScope());
afterEach(() => endTestScope());
