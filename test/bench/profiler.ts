/**
 * Preloaded into the servers under test when BENCH_PROFILE=1 (`--import`): SIGUSR2 starts the
 * V8 CPU profiler, the next SIGUSR2 stops it and writes `<pid>.cpuprofile` to BENCH_PROFILE_DIR.
 * The load generator sends them around a scenario's measured phase, so set-up (REST sign-ups,
 * room creation) does not drown the profile.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import path from "node:path";

const dir = process.env.BENCH_PROFILE_DIR!;
const session = new Session();
session.connect();
let running = false;

process.on("SIGUSR2", () => {
  void (async () => {
    if (!running) {
      running = true;
      await session.post("Profiler.enable");
      await session.post("Profiler.setSamplingInterval", { interval: 200 });
      await session.post("Profiler.start");
      return;
    }
    running = false;
    const { profile } = await session.post("Profiler.stop");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify(profile));
  })();
});
