// Small builders for Calico models in tests.
import { parseModel, type ClusterModel } from '../../peers/index.js';

export interface NodeSpec {
  v4?: string;
  v6?: string;
  as?: string | number;
  cid?: string;
  labels?: Record<string, string>;
}

export function node(name: string, s: NodeSpec): string {
  const labels = s.labels ? `  labels: ${JSON.stringify(s.labels)}\n` : '';
  const bgp = [
    s.v4 && `    ipv4Address: ${s.v4}`,
    s.v6 && `    ipv6Address: "${s.v6}"`,
    s.as !== undefined && `    asNumber: ${JSON.stringify(s.as)}`,
    s.cid && `    routeReflectorClusterID: ${s.cid}`,
  ]
    .filter(Boolean)
    .join('\n');
  return `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: ${name}\n${labels}spec:\n  bgp:\n${bgp}\n`;
}

export function res(kind: string, name: string, spec: Record<string, unknown>): string {
  return `apiVersion: projectcalico.org/v3\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec: ${JSON.stringify(spec)}\n`;
}

export function model(...docs: string[]): ClusterModel {
  return parseModel(docs.join('---\n'), 'test.yaml').model;
}

/** Selectors are closures: equal when they print the same expression. */
export function normModel(v: unknown): unknown {
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, normModel(x)]));
  if (Array.isArray(v)) return v.map(normModel);
  if (v && typeof v === 'object' && 'matches' in v && typeof v.matches === 'function') return `selector ${String(v)}`;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normModel(x)]));
  return v;
}
