// Live detector list (DeepSafeService.ListModels), refreshed while a page that shows health is open.
import { useEffect, useState } from "react";
import type { ModelStatus } from "@deepsafe/proto/es/gateway";
import { explain } from "./api";
import { useApp } from "./state";

const REFRESH_MS = 5000;

export function useModels(): { models: ModelStatus[] | undefined; error: string | undefined; refreshedAt: Date | undefined } {
  const { api } = useApp();
  const [state, setState] = useState<{ models?: ModelStatus[]; error?: string; refreshedAt?: Date }>({});
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const res = await api.deepsafe.listModels({});
        if (!stopped) setState({ models: res.models, refreshedAt: new Date() });
      } catch (err) {
        if (!stopped) setState((s) => ({ ...s, error: explain(err) }));
      }
      if (!stopped) timer = setTimeout(tick, REFRESH_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api]);
  return { models: state.models, error: state.error, refreshedAt: state.refreshedAt };
}
