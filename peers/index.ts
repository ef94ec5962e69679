/** Public API of peers/: the Calico model, selectors, peer planning and route origination. */
export * from './types.js';
export { parseSelector, SelectorError, type Labels } from './selector.js';
export { parseModel, parseResources, loadModelFile } from './model/parse.js';
export { planPeers, localSpeaker, findNode, nodeAs, nodePort, peerKey, type PlanOptions, type LocalSpeaker } from './plan.js';
export { diffPlan, RESTART_FIELDS, type PlanDiff, type PeerChange } from './diff.js';
export { originatedRoutes, encapsulationFor, localSubnets, EXCLUDE_LB_LABEL, type OriginatedRoute, type RouteOrigin, type Encapsulation } from './routes.js';
export {
  evaluateFilters,
  defaultFilterAction,
  filtersByName,
  matchFilters,
  matchFiltersForAnyPrefix,
  operationsEdit,
  parseCommunity,
  ruleMatches,
  localPrefOfPriority,
  priorityOfLocalPref,
  kernelMetricOf,
  MAX_INSTALLED_PRIORITY,
  NORMAL_ROUTE_PRIORITY,
  PRIORITY_BASE,
  type FilterContext,
  type FilterVerdict,
} from './filters.js';
export { fileSecretResolver, lookupSecret, type SecretLookup, type SecretRef, type SecretResolver } from './secrets.js';
