import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { loadConfig } from "./config";
import { AppProvider } from "./state";
import "./styles.css";

const config = await loadConfig();
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <AppProvider config={config}>
      <App />
    </AppProvider>
  </StrictMode>,
);
