// The files add-model reads and edits, relative to a repository root.
import { join } from "node:path";

export interface RepoFiles {
  root: string;
  registry: string;
  compose: string;
  prometheus: string;
  helmValues: string;
  services: string;
  template: string;
}

export function repoFiles(root: string): RepoFiles {
  return {
    root,
    registry: join(root, "gateway", "config", "registry.yaml"),
    compose: join(root, "deploy", "compose", "compose.yaml"),
    prometheus: join(root, "deploy", "compose", "prometheus.yml"),
    helmValues: join(root, "deploy", "helm", "deepsafe", "values.yaml"),
    services: join(root, "services"),
    template: join(root, "tools", "add-model", "template"),
  };
}
