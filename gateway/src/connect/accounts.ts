// deepsafe.v1.AccountService over Connect, gRPC and gRPC-Web: the same operations as REST's
// /register, /token and /users/me (auth/accounts.ts), fields validated by the same schemas.
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  AccountKind,
  AccountService,
  GetMeResponseSchema,
  LoginResponseSchema,
  RegisterResponseSchema,
  UserSchema,
} from "@deepsafe/proto/es/accounts";
import type { Accounts, Profile } from "../auth/accounts.js";
import type { Authenticator } from "../auth/index.js";
import * as S from "../rest/schemas.js";
import { addressOf, guard, invalidArgument, requireCaller } from "./common.js";

export interface AccountRoutesDeps {
  accounts: Accounts;
  auth: Authenticator;
  log: (msg: string) => void;
}

const userOf = (p: Profile) =>
  create(UserSchema, { username: p.username, email: p.email ?? "", fullName: p.full_name ?? "", disabled: p.disabled });

export function accountRoutes(router: ConnectRouter, deps: AccountRoutesDeps): ConnectRouter {
  const { accounts, auth, log } = deps;
  return router.service(AccountService, {
    register: (req, ctx) =>
      guard(log, "accounts", async () => {
        accounts.admitRegistration(addressOf(ctx));
        const parsed = S.RegisterForm.safeParse({
          username: req.username,
          password: req.password,
          email: req.email || undefined,
          full_name: req.fullName || undefined,
        });
        if (!parsed.success) throw invalidArgument(parsed.error);
        const { token, user } = await accounts.register(parsed.data);
        return create(RegisterResponseSchema, {
          accessToken: token.access_token,
          tokenType: token.token_type,
          expiresIn: token.expires_in,
          user: userOf(user),
        });
      }),
    login: (req, ctx) =>
      guard(log, "accounts", async () => {
        const parsed = S.TokenForm.safeParse({ username: req.username, password: req.password });
        if (!parsed.success) throw invalidArgument(parsed.error);
        const token = await accounts.login(parsed.data.username, parsed.data.password, addressOf(ctx));
        return create(LoginResponseSchema, { accessToken: token.access_token, tokenType: token.token_type, expiresIn: token.expires_in });
      }),
    getMe: (_req, ctx) =>
      guard(log, "accounts", async () => {
        const profile = await accounts.profile(await requireCaller(auth, ctx));
        return create(GetMeResponseSchema, {
          user: userOf(profile),
          kind: profile.kind === "apikey" ? AccountKind.API_KEY : AccountKind.USER,
        });
      }),
  });
}
