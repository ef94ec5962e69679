/** Datastores: where the cluster model comes from. Each yields the same validated ClusterModel. */
export type { Datastore, DatastoreEvent, DatastoreKind, DatastoreState, DatastoreStatus, ModelUpdate } from './types.js';
export { ModelAssembler, REBUILD_DELAY_MS, refusalOf } from './assembler.js';
export { FileDatastore, RELOAD_DEBOUNCE_MS, type FileDatastoreOptions } from './file.js';
// EtcdDatastore (./etcd.js) is imported on its own: the etcd3 client (gRPC) takes a third of a
// second to load, which a file-datastore ternd and the unit tests should not pay.
export type { EtcdDatastoreOptions } from './etcd.js';
export * as etcdLayout from './etcd-layout.js';
// KubernetesDatastore (./kubernetes.js) is imported on its own: @kubernetes/client-node takes a
// second to load, which a file-datastore ternd and the unit tests should not pay.
export type { KubernetesMode } from './k8s-objects.js';
