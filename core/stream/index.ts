// The Xen migration stream formats: constants, encoders, the streaming decoder and its errors.
export * from './format.js';
export * from './errors.js';
export * from './encode.js';
export * from './bodies.js';
export * from './decoder.js';
export * from './record-reader.js';
export * from './segmented-bytes.js';
export * from './byte-slab.js';
