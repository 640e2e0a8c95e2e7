// Typed Connect-Web clients for the gateway's public services, generated from the same protos as
// the server. The caller's token rides on every call; an UNAUTHENTICATED answer to a call that
// carried one means the session is over (expired or revoked).
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AccountService } from "@deepsafe/proto/es/accounts";
import { DeepSafeService } from "@deepsafe/proto/es/gateway";
import { HistoryService } from "@deepsafe/proto/es/history";

export interface Api {
  gatewayUrl: string;
  deepsafe: Client<typeof DeepSafeService>;
  accounts: Client<typeof AccountService>;
  history: Client<typeof HistoryService>;
}

export function createApi(gatewayUrl: string, token: () => string | undefined, onSessionRejected: () => void): Api {
  const auth: Interceptor = (next) => async (req) => {
    const t = token();
    if (t) req.header.set("authorization", `Bearer ${t}`);
    try {
      return await next(req);
    } catch (err) {
      if (t && ConnectError.from(err).code === Code.Unauthenticated) onSessionRejected();
      throw err;
    }
  };
  const transport = createConnectTransport({ baseUrl: gatewayUrl, interceptors: [auth], defaultTimeoutMs: 30_000 });
  return {
    gatewayUrl,
    deepsafe: createClient(DeepSafeService, transport),
    accounts: createClient(AccountService, transport),
    history: createClient(HistoryService, transport),
  };
}

/** A sentence for the user from any failed call. */
export function explain(err: unknown): string {
  const e = ConnectError.from(err);
  const why = e.rawMessage || e.message;
  // fetch() itself failed (server down, or CORS refused the origin): no HTTP answer at all.
  if (/failed to fetch|networkerror|load failed/i.test(why)) return "The gateway cannot be reached (is `npm start` running, and does it allow this page's origin?).";
  switch (e.code) {
    case Code.Unavailable:
      return `Unavailable: ${why}`;
    case Code.Unauthenticated:
      return why;
    case Code.DeadlineExceeded:
      return "The gateway took too long to answer.";
    case Code.Canceled:
      return "Cancelled.";
    default:
      return why;
  }
}
