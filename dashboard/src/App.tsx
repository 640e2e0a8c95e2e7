// The shell: skip link, header with navigation, one page at a time by hash route.
import { useEffect, useRef } from "react";
import { AnalysePage } from "./pages/Analyse";
import { HistoryPage } from "./pages/History";
import { LoginPage } from "./pages/Login";
import { ModelsPage } from "./pages/Models";
import { ResultPage } from "./pages/Result";
import { navigate, useRoute } from "./router";
import { useApp } from "./state";

const NAV = [
  { page: "analyse", label: "Analyse" },
  { page: "history", label: "History" },
  { page: "models", label: "Models" },
];

export function App() {
  const route = useRoute();
  const { session, logOut } = useApp();
  const main = useRef<HTMLElement>(null);

  // Move focus to the new page's content so screen readers and keyboards follow navigation.
  useEffect(() => {
    main.current?.focus();
  }, [route.page, route.param]);

  let page;
  switch (route.page) {
    case "login":
      page = <LoginPage />;
      break;
    case "result":
      page = <ResultPage requestId={route.param} />;
      break;
    case "history":
      page = <HistoryPage page={Math.max(1, Number(route.query.get("page")) || 1)} />;
      break;
    case "models":
      page = <ModelsPage />;
      break;
    default:
      page = <AnalysePage />;
  }

  return (
    <>
      <a className="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header className="top">
        <a className="brand" href="#/analyse">
          DeepSafe
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.page}>
                <a href={`#/${n.page}`} aria-current={route.page === n.page ? "page" : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="account">
          {session ? (
            <>
              <span className="who" title="Logged in">
                {session.username}
              </span>
              <button type="button" className="link" onClick={() => (logOut(), navigate("/login"))}>
                Log out
              </button>
            </>
          ) : (
            <a href="#/login" aria-current={route.page === "login" ? "page" : undefined}>
              Log in
            </a>
          )}
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
