// Access tokens (RFC 7519 / RFC 8725 practice) with jose: HS256 only (the algorithm is pinned, so
// "alg": "none" or an RS/HS confusion is refused), issuer and audience checked, short expiry, a
// small clock tolerance.
import { randomUUID } from "node:crypto";
import { SignJWT, errors, jwtVerify } from "jose";

export interface TokenSettings {
  secret: Uint8Array;
  issuer: string;
  audience: string;
  minutes: number;
  clockToleranceS: number;
}

export const ALGORITHM = "HS256";

export async function issueToken(s: TokenSettings, subject: string, now = new Date()): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
    .setSubject(subject)
    .setIssuer(s.issuer)
    .setAudience(s.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + s.minutes * 60)
    .setJti(randomUUID())
    .sign(s.secret);
}

export class TokenError extends Error {
  override name = "TokenError";
}

/** The token's subject, or TokenError with a short reason safe to show to the client. */
export async function verifyToken(s: TokenSettings, token: string): Promise<string> {
  try {
    const { payload } = await jwtVerify(token, s.secret, {
      algorithms: [ALGORITHM],
      issuer: s.issuer,
      audience: s.audience,
      clockTolerance: s.clockToleranceS,
      maxTokenAge: `${s.minutes * 60 + s.clockToleranceS}s`,
      requiredClaims: ["sub", "exp", "iat"],
    });
    if (typeof payload.sub !== "string" || !payload.sub) throw new TokenError("token has no subject");
    return payload.sub;
  } catch (err) {
    if (err instanceof TokenError) throw err;
    if (err instanceof errors.JWTExpired) throw new TokenError("token expired");
    if (err instanceof errors.JWSSignatureVerificationFailed) throw new TokenError("token signature is invalid");
    if (err instanceof errors.JOSEAlgNotAllowed) throw new TokenError("token algorithm is not allowed");
    if (err instanceof errors.JWTClaimValidationFailed) throw new TokenError(`token claim "${err.claim}" is invalid`);
    throw new TokenError("token is malformed");
  }
}
