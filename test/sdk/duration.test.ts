import { expect } from "chai";

import { DURATION_UNITS, formatDuration, parseDuration } from "../../src/duration";

describe("duration", function () {
  describe("parseDuration", function () {
    it("should read each unit in seconds", function () {
      expect(parseDuration("3600s")).to.equal(3600);
      expect(parseDuration("90m")).to.equal(90 * 60);
      expect(parseDuration("12h")).to.equal(12 * 3600);
      expect(parseDuration("30d")).to.equal(30 * 86400);
      expect(parseDuration("2w")).to.equal(14 * 86400);
    });

    it("should add up compound durations and ignore case and surrounding spaces", function () {
      expect(parseDuration("1d12h")).to.equal(36 * 3600);
      expect(parseDuration(" 1W2D ")).to.equal(9 * 86400);
    });

    it("should refuse anything else with a sentence saying what is expected", function () {
      const cases: [string, RegExp][] = [
        ["", /^Empty duration: use a number followed by a unit/],
        ["3600", /has no unit/],
        ["30y", /^Invalid duration "30y": use a number followed by a unit: s, m, h, d or w/],
        ["1.5d", /^Invalid duration/],
        ["-1d", /^Invalid duration/],
        ["d", /^Invalid duration/],
        ["1d 2h", /^Invalid duration/],
        ["0h", /is zero/],
        ["99999999999999999w", /too long/],
      ];
      for (const [input, message] of cases) {
        expect(() => parseDuration(input), input).to.throw(message);
      }
    });
  });

  describe("formatDuration", function () {
    it("should write seconds with the largest units that divide them, and read back", function () {
      expect(formatDuration(0)).to.equal("0s");
      expect(formatDuration(90_000)).to.equal("1d1h");
      expect(formatDuration(DURATION_UNITS.w + 61)).to.equal("1w1m1s");
      for (const seconds of [1, 59, 3600, 86_399, 1_234_567]) {
        expect(parseDuration(formatDuration(seconds))).to.equal(seconds);
      }
      expect(() => formatDuration(-1)).to.throw(/Invalid number of seconds/);
    });
  });
});
