/**
 * A page whose wall clock is off by a fixed offset, as on a real viewer's machine, so a client's
 * clock-offset estimate (TIME_SYNC against the server's epoch ms) has something to find.
 * `Date.now()`, `new Date()` and `Date()` read the skewed clock; `new Date(x)`, `Date.parse`,
 * `Date.UTC`, `instanceof Date` and subclassing behave as before. `performance.now()` is left
 * alone: it is monotonic, not a wall clock, and the sampler reads the true time from it.
 *
 * It runs in the page before any of the page's scripts (a Playwright init script): the harness
 * bundles this module for the browser and calls `skewClock` (see run-sync.ts). No imports, so
 * the bundle holds just this.
 */
export function skewClock(offsetMs: number, scope: { Date: DateConstructor } = globalThis): void {
  const RealDate = scope.Date;
  const now = () => RealDate.now() + offsetMs;
  function SkewedDate(...args: unknown[]): Date | string {
    // Called as a function, Date() is the current time as a string.
    if (!new.target) return new RealDate(now()).toString();
    return Reflect.construct(RealDate, args.length === 0 ? [now()] : args, new.target) as Date;
  }
  // The same prototype: existing dates, `instanceof` and `date.constructor` all agree.
  SkewedDate.prototype = RealDate.prototype;
  Object.defineProperty(RealDate.prototype, "constructor", { value: SkewedDate, writable: true, configurable: true });
  Object.defineProperties(SkewedDate, {
    now: { value: now, writable: true, configurable: true },
    parse: { value: RealDate.parse, writable: true, configurable: true },
    UTC: { value: RealDate.UTC, writable: true, configurable: true },
    length: { value: RealDate.length },
    name: { value: "Date" },
  });
  scope.Date = SkewedDate as unknown as DateConstructor;
}
