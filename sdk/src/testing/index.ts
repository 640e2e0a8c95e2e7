// @deepsafe/sdk/testing: helpers for detector tests (never imported by a serving process).
export { SAMPLE_PHOTOS, findSamplePhotos } from "./photos.js";
export { decodeLikeSdk, diffStats } from "./parity.js";
export * as audioTesting from "../audio/testing.js";
