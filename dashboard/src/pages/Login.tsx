// Log in or create an account (AccountService over Connect-Web). Fields are checked before the
// round trip with the gateway's own rules; the gateway's answer is shown as is when it refuses.
import { useId, useState, type FormEvent } from "react";
import { explain } from "../api";
import { navigate } from "../router";
import { credentialProblems, SessionError, sessionFromToken } from "../session";
import { useApp } from "../state";

export function LoginPage() {
  const { api, logIn, session, sessionNotice } = useApp();
  const [mode, setMode] = useState<"login" | "register">("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [email, setEmail] = useState("");
  const [fieldErrors, setFieldErrors] = useState<{ username?: string; password?: string }>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const id = useId();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    const problems = mode === "register" ? credentialProblems(username, password) : {};
    if (mode === "login" && !username) problems.username = "required";
    if (mode === "login" && !password) problems.password = "required";
    setFieldErrors(problems);
    if (problems.username || problems.password) return;
    setBusy(true);
    try {
      const res =
        mode === "register"
          ? await api.accounts.register({ username, password, email })
          : await api.accounts.login({ username, password });
      const s = sessionFromToken(res.accessToken, username, res.expiresIn);
      // Ask the gateway who the token belongs to: proves it is accepted, and gives the canonical name.
      const me = await api.accounts.getMe({}, { headers: { authorization: `Bearer ${s.token}` } });
      logIn({ ...s, username: me.user?.username || username });
      navigate("/analyse");
    } catch (err) {
      setError(err instanceof SessionError ? err.message : explain(err));
    } finally {
      setBusy(false);
    }
  }

  const title = mode === "login" ? "Log in" : "Create an account";
  return (
    <section className="narrow" aria-labelledby={`${id}-title`}>
      <h1 id={`${id}-title`}>{title}</h1>
      {session && <p className="notice">You are logged in as {session.username}.</p>}
      {sessionNotice && !session && (
        <p className="notice" role="status">
          {sessionNotice}
        </p>
      )}
      <div className="tabs" role="group" aria-label="Log in or register">
        <button type="button" aria-pressed={mode === "login"} onClick={() => (setMode("login"), setError(undefined), setFieldErrors({}))}>
          Log in
        </button>
        <button type="button" aria-pressed={mode === "register"} onClick={() => (setMode("register"), setError(undefined), setFieldErrors({}))}>
          Register
        </button>
      </div>
      <form onSubmit={submit} noValidate className="card form">
        <label htmlFor={`${id}-user`}>Username</label>
        <input
          id={`${id}-user`}
          name="username"
          autoComplete="username"
          value={username}
          onChange={(e) => setUsername(e.target.value.trim())}
          aria-invalid={fieldErrors.username ? true : undefined}
          aria-describedby={fieldErrors.username ? `${id}-user-err` : undefined}
          required
        />
        {fieldErrors.username && (
          <p className="field-error" id={`${id}-user-err`}>
            Username: {fieldErrors.username}
          </p>
        )}
        <label htmlFor={`${id}-pass`}>Password</label>
        <input
          id={`${id}-pass`}
          name="password"
          type="password"
          autoComplete={mode === "login" ? "current-password" : "new-password"}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          aria-invalid={fieldErrors.password ? true : undefined}
          aria-describedby={fieldErrors.password ? `${id}-pass-err` : undefined}
          required
        />
        {fieldErrors.password && (
          <p className="field-error" id={`${id}-pass-err`}>
            Password: {fieldErrors.password}
          </p>
        )}
        {mode === "register" && (
          <>
            <label htmlFor={`${id}-email`}>
              Email <span className="hint">(optional)</span>
            </label>
            <input id={`${id}-email`} name="email" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value.trim())} />
          </>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Please wait…" : title}
        </button>
      </form>
      <p className="hint">Without an account you can still analyse files; your results are then not kept in a history.</p>
    </section>
  );
}
