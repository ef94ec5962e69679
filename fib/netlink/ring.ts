// The shared-memory ring that carries dump chunks from the request worker to the main thread
// (worker.ts runDump, client.ts dump). Its own module: the worker module runs its role on load,
// so the main thread must not import values from it.
//
// Why shared memory: a million-route dump brought ~75 MB of fresh ArrayBuffers into the main
// thread (one per ~256 KiB chunk), and V8 answered that external memory with full,
// non-incremental marks of the main heap, ~100 ms each with the event loop stopped (issue 5,
// seen with --trace-gc). Four slots let the kernel read run ahead of the decoding.
export const RING_SLOTS = 4;
/** A chunk (256 KiB) and one more datagram (the request socket reads up to 1 MiB at once). */
export const RING_SLOT = 256 * 1024 + (1 << 20);
