// The conformance lab harness: import from here in conformance tests.
export * from './lab.js';
export * from './pair.js';
export * from './bird.js';
export * from './frr.js';
export * from './fib.js';
export * from './gate.js';
export * from './tern.js';
export * from './capture.js';
export { updateAttributes, classify } from './bgpsplit.js';
