/** The <video> adapter, on a fake media element: buffering state, its events, seek latency. */
import { describe, expect, it } from "vitest";
import { Html5Player, type MediaElementLike } from "../../packages/client/src/html5-player.js";

/** Just enough of an HTMLMediaElement: the test sets its state and fires its events. */
class FakeVideo extends EventTarget implements MediaElementLike {
  currentTime = 0;
  playbackRate = 1;
  paused = true;
  seeking = false;
  readyState = 4;
  rateSets = 0;
  play() {
    this.paused = false;
    return Promise.resolve();
  }
  pause() {
    this.paused = true;
  }
  fire(type: string) {
    this.dispatchEvent(new Event(type));
  }
}

function setup() {
  let now = 1000;
  const video = new FakeVideo();
  const player = new Html5Player(video, () => now);
  const events: string[] = [];
  for (const e of ["bufferingstart", "bufferingend", "seeked"] as const) player.on(e, () => events.push(e));
  return { video, player, events, tick: (ms: number) => (now += ms) };
}

describe("Html5Player", () => {
  it("is buffering from 'waiting' until 'playing', and says so once each way", () => {
    const { video, player, events } = setup();
    video.paused = false;
    expect(player.isBuffering()).toBe(false);
    video.fire("waiting");
    video.fire("stalled");
    expect(player.isBuffering()).toBe(true);
    video.fire("playing");
    expect(player.isBuffering()).toBe(false);
    expect(events).toEqual(["bufferingstart", "bufferingend"]);
  });

  it("is buffering while it has no future data or is seeking", () => {
    const { video, player } = setup();
    video.readyState = 2; // HAVE_CURRENT_DATA
    expect(player.isBuffering()).toBe(true);
    video.readyState = 4;
    video.seeking = true;
    expect(player.isBuffering()).toBe(true);
  });

  it("a paused element that got its data again is not buffering (it will never fire 'playing')", () => {
    const { video, player } = setup();
    video.fire("waiting");
    expect(player.isBuffering()).toBe(true);
    video.fire("canplay");
    expect(player.isBuffering()).toBe(false);
  });

  it("measures its seek latency (call → 'seeked'), smoothed, ignoring seeks it did not make", () => {
    const { video, player, events, tick } = setup();
    expect(player.seekLatencyMs()).toBeUndefined();
    player.seek(42);
    expect(video.currentTime).toBe(42);
    video.seeking = true;
    video.fire("seeking");
    tick(400);
    video.seeking = false;
    video.fire("seeked");
    expect(player.seekLatencyMs()).toBe(400);
    player.seek(10);
    tick(200);
    video.fire("seeked");
    expect(player.seekLatencyMs()).toBeCloseTo(400 + 0.3 * (200 - 400), 9);
    tick(5000);
    video.fire("seeked"); // the user's own seek: no call, no measurement
    expect(player.seekLatencyMs()).toBeCloseTo(340, 9);
    expect(events.filter((e) => e === "seeked")).toHaveLength(3);
  });

  it("plays, pauses, sets the rate, and lets go of the element on dispose()", async () => {
    const { video, player, events } = setup();
    await player.play();
    expect(player.isPaused()).toBe(false);
    player.setRate(1.05);
    expect(video.playbackRate).toBe(1.05);
    player.pause();
    expect(player.isPaused()).toBe(true);
    player.dispose();
    video.fire("waiting");
    expect(events).toEqual([]);
  });
});
