// Issue 14: conformance/reflection.test.ts again, with BIRD and FRR as containers (TERN_PEERS=containers,
// conformance/lab/peer-runtime.ts): the same scenarios and assertions, the peers from the images
// of conformance/containers, joined to the lab namespaces with podman.
process.env.TERN_PEERS = 'containers';
require('../reflection.test.js');
