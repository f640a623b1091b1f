import { assertEquals, assertThrows } from "../assert.ts";
import { pipeline, PIPELINES, progressRanges } from "../../lib/research/pipeline.ts";
import { defineStep, type StepContext } from "../../lib/research/steps/types.ts";

const first = defineStep({
  name: "first",
  label: "First",
  run: () => Promise.resolve({ n: 1 }),
});
const second = defineStep({
  name: "second",
  label: "Second",
  needs: { first },
  run: (_ctx: StepContext, { first }) => Promise.resolve({ twice: first.n * 2 }),
});

Deno.test("a pipeline whose step needs a later (or missing) step is refused when built", () => {
  assertThrows(() => pipeline([second, 1], [first, 1]), Error, "second needs first");
  assertThrows(() => pipeline([second, 1]), Error, "second needs first");
  assertEquals(pipeline([first, 1], [second, 3]).map((e) => e.step.name), ["first", "second"]);
});

Deno.test("progress shares are the pipeline's weights, relative to each other", () => {
  assertEquals(progressRanges(pipeline([first, 1], [second, 3])), [[0, 25], [25, 100]]);
  const detailed = progressRanges(PIPELINES.detailed);
  assertEquals(detailed[0][0], 0);
  assertEquals(detailed.at(-1)![1], 100);
});
