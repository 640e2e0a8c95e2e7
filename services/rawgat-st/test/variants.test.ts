// RawGAT-ST variant names, model names and checkpoint URLs (the window planning, shared with the
// other audio detectors, is tested in sdk/test/audio-windows.test.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkpointUrl, parseVariant, VARIANTS } from "../src/onnx.js";

test("variant names and model names", () => {
  assert.is(parseVariant(undefined), "mul");
  assert.is(parseVariant(""), "mul");
  assert.is(parseVariant("MUL"), "mul");
  assert.is(parseVariant("rawgat-st-add"), "add");
  assert.is(parseVariant("RawGAT_ST_cat"), "cat");
  assert.is(parseVariant("concat"), "cat");
  assert.throws(() => parseVariant("max"), /unknown RawGAT-ST variant "max"/);
  assert.equal(Object.values(VARIANTS).map((v) => v.modelName), ["rawgat-st", "rawgat-st-add", "rawgat-st-cat"]);
  assert.is(
    checkpointUrl("cat"),
    "https://github.com/eurecom-asp/RawGAT-ST-antispoofing/raw/e3b049f79b3cd9552e66f6d0ba844cbb9399c479/Pre_trained_models/RawGAT_ST_cat/Best_epoch.pth",
  );
});

test.run();
