// POST /detect's multipart body, streamed: form fields that come before the file are collected,
// then the file part is handed over as an async iterator of chunks, pulled by the Detect pipeline
// as the detectors accept them (busboy pauses the socket in between), so the upload is never
// held in memory. Fields after the file cannot change a detection that is already running: they
// are refused (422) before any verdict is returned.
import { Busboy, type BusboyFileStream, type BusboyInstance } from "@fastify/busboy";
import { HttpError, badRequest, invalidField } from "./errors.js";
import { mediaTypeOf, type Req } from "./body.js";
import { nextWithin } from "../upload-idle.js";
import { ServiceError } from "../service-error.js";

export interface FilePart {
  /** Fields sent before the file (a field sent twice keeps every value). */
  fields: Record<string, string[]>;
  fileName: string;
  mimeType: string;
  /** The file's chunks in order. Ends only once the whole body was parsed (late parts checked). */
  chunks: AsyncIterator<Buffer>;
  /** Stop parsing (on an early answer): nothing more is read into busboy. */
  abandon(): void;
}

const FILE_FIELD = "file";

/** idleMs: longest wait for the next piece of the file (a stalled upload ends with 408). */
export function openFilePart(req: Req, opts: { maxFileBytes: number; idleMs?: number }): Promise<FilePart> {
  if (mediaTypeOf(req) !== "multipart/form-data") {
    return Promise.reject(
      new HttpError(415, "unsupported_media_type", `POST /detect expects multipart/form-data with a "${FILE_FIELD}" part, got ${mediaTypeOf(req) || "no content type"}`),
    );
  }
  let bb: BusboyInstance;
  try {
    bb = new Busboy({
      headers: req.headers as { "content-type": string },
      limits: { fieldSize: 8 * 1024, fields: 20, files: 1, parts: 40, fileSize: opts.maxFileBytes + 1, headerPairs: 50 },
    });
  } catch (err) {
    return Promise.reject(badRequest(`malformed multipart request: ${(err as Error).message}`));
  }

  return new Promise<FilePart>((resolve, reject) => {
    const fields: Record<string, string[]> = {};
    let file: BusboyFileStream | undefined;
    let lateProblem: HttpError | undefined;
    let parseError: HttpError | undefined;
    let finished = false;
    let settleFinish: (() => void) | undefined;
    const finishedPromise = new Promise<void>((r) => (settleFinish = r));

    const fail = (err: HttpError) => {
      parseError ??= err;
      if (!file) reject(err);
      else file.destroy(err);
      settleFinish?.();
    };

    bb.on("field", (name: string, value: string, _nameTruncated: boolean, valueTruncated: boolean) => {
      if (file) {
        lateProblem ??= invalidField(["form", name], `form field "${name}" came after the file; send form fields before the file part (or as query parameters)`);
        return;
      }
      if (valueTruncated) {
        lateProblem ??= invalidField(["form", name], "value too long");
        return;
      }
      (fields[name] ??= []).push(value);
    });
    bb.on("file", (name: string, stream: BusboyFileStream, fileName: string, _enc: string, mimeType: string) => {
      if (name !== FILE_FIELD || file) {
        if (!file) lateProblem ??= invalidField(["form", name], `unexpected file part "${name}"; the media goes in "${FILE_FIELD}"`);
        stream.on("error", () => {}); // a body cut inside this part fails the request through bb's "error"
        stream.resume();
        return;
      }
      file = stream;
      // A body cut inside the file makes busboy fail the file stream with a plain Error; unhandled, that
      // 'error' event would take the process down, and unmapped it would be a 500 rather than a 400.
      stream.on("error", () => {});
      const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      const chunks: AsyncIterator<Buffer> = {
        async next() {
          const n = await (opts.idleMs ? nextWithin(it.next(), opts.idleMs) : it.next()).catch((err: unknown) => {
            throw err instanceof HttpError || err instanceof ServiceError ? err : (parseError ?? badRequest(`malformed multipart body: ${(err as Error).message ?? err}`));
          });
          if (!n.done) return n;
          if (stream.truncated) throw new HttpError(413, "payload_too_large", `file exceeds the ${opts.maxFileBytes}-byte limit`);
          // The file ended: wait for the rest of the body (the closing boundary, or late parts).
          if (!finished) await (opts.idleMs ? nextWithin(finishedPromise, opts.idleMs) : finishedPromise);
          if (parseError) throw parseError;
          if (lateProblem) throw lateProblem;
          return { done: true, value: undefined };
        },
        async return() {
          await it.return?.();
          return { done: true, value: undefined };
        },
      };
      resolve({ fields, fileName: fileName ?? "", mimeType: mimeType ?? "", chunks, abandon });
    });
    bb.on("filesLimit", () => (lateProblem ??= invalidField(["form"], "only one file part is accepted")));
    bb.on("partsLimit", () => (lateProblem ??= invalidField(["form"], "too many form parts")));
    bb.on("fieldsLimit", () => (lateProblem ??= invalidField(["form"], "too many form fields")));
    bb.on("finish", () => {
      finished = true;
      settleFinish?.();
      if (!file) reject(lateProblem ?? invalidField(["form", FILE_FIELD], `field required: the media goes in a file part named "${FILE_FIELD}"`));
    });
    bb.on("error", (err: unknown) => fail(badRequest(`malformed multipart body: ${(err as Error).message ?? err}`)));

    // A client that goes away mid-upload ends the stream with an error instead of leaving it hanging.
    const onAborted = () => {
      if (!finished) fail(new HttpError(499, "canceled", "the client closed the connection during the upload"));
    };
    req.on("aborted", onAborted);
    req.on("error", onAborted);
    req.on("close", () => {
      if (!(req as { complete?: boolean }).complete) onAborted();
    });

    function abandon(): void {
      req.unpipe(bb as unknown as NodeJS.WritableStream);
      file?.destroy();
    }

    req.pipe(bb as unknown as NodeJS.WritableStream);
  });
}
