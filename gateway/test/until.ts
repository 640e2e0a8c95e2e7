// Polling for state that changes in another process (a hot reload, a health transition).

/** Calls get() until ok(value) holds and returns that value; throws with the last value after ms. */
export async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000, everyMs = 100): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(v, (_, x) => (typeof x === "bigint" ? String(x) : x))}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
