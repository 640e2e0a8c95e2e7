// AASIST variant names (the window planning itself is tested in sdk/test/audio-windows.test.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseVariant } from "../src/onnx.js";

test("variant names", () => {
  assert.is(parseVariant(undefined), "AASIST");
  assert.is(parseVariant("aasist"), "AASIST");
  assert.is(parseVariant("aasist-l"), "AASIST-L");
  assert.is(parseVariant("AASIST_L"), "AASIST-L");
  assert.throws(() => parseVariant("rawnet2"), /unknown AASIST variant/);
});

test.run();
