/**
 * The run view's step list and captions as pure functions: the server's pipeline steps in their
 * reported states, the research step shown as its sub-questions, the caption of the step running
 * now, and token counts grouped as people read them.
 */
import { assertEquals } from "../assert.ts";
import {
  currentStep,
  formatCount,
  type PipeStep,
  settleSteps,
  viewSteps,
} from "../../islands/run_progress.ts";

const pipe = (states: PipeStep["state"][]): PipeStep[] =>
  [["plan", "Plan sub-questions"], ["research", "Answer the sub-questions"], [
    "synthesis",
    "Write the report",
  ]].map(([name, label], i) => ({ name, label, state: states[i] }));
const sub = (current: number, failed: number[] = []) => ({
  questions: ["What is alpha?", "How does beta work?", "Why gamma?"],
  current,
  failed,
});

Deno.test("steps: the research step becomes its sub-questions in the step's state", () => {
  const states = (p: PipeStep[], s = sub(2), ended = "") => {
    const v = viewSteps(p, s, "alpha beta gamma");
    return (ended ? settleSteps(v, ended) : v).map((x) => x.state);
  };
  assertEquals(states(pipe(["done", "running", "pending"])), [
    "done",
    "done",
    "running",
    "pending",
    "pending",
  ]);
  assertEquals(states(pipe(["done", "stopped", "pending"]), sub(2), "cancelled"), [
    "done",
    "done",
    "stopped",
    "skipped",
    "skipped",
  ]);
  assertEquals(states(pipe(["done", "failed", "pending"]), sub(3, [1]), "failed"), [
    "done",
    "failed",
    "done",
    "failed",
    "skipped",
  ]);
  assertEquals(states(pipe(["done", "done", "done"]), sub(3, [2])), [
    "done",
    "done",
    "failed",
    "done",
    "done",
  ]);
  // Before the plan is known the research step is one item.
  assertEquals(
    viewSteps(pipe(["running", "pending", "pending"]), { ...sub(0), questions: [] }, "q").map((
      x,
    ) => x.label),
    ["Plan sub-questions", "Answer the sub-questions", "Write the report"],
  );
});

Deno.test("steps: the caption names the step running now, and nothing for a one-step run", () => {
  assertEquals(
    currentStep(pipe(["done", "running", "pending"]), sub(2)),
    "Step 2 of 3: Answer the sub-questions (sub-question 2 of 3)",
  );
  assertEquals(
    currentStep(pipe(["done", "done", "running"]), sub(3)),
    "Step 3 of 3: Write the report",
  );
  assertEquals(currentStep(pipe(["done", "done", "done"]), sub(3)), "");
  assertEquals(
    currentStep([{ name: "answer", label: "Answer the question", state: "running" }], sub(0)),
    "",
  );
});

Deno.test("formatCount groups thousands with a narrow no-break space", () => {
  assertEquals(formatCount(8), "8");
  assertEquals(formatCount(1240), "1\u202f240");
  assertEquals(formatCount(1234567), "1\u202f234\u202f567");
});
