import { setFlagsFromString } from 'node:v8';

/**
 * The old generation may grow to 1.5 times what the last full collection kept before the next one. V8's own factor
 * goes up to 4 on a machine with gigabytes to spare, and under ingest load the API's old space then fills with
 * promoted request garbage to 2–3 times its live set (about 40 MB), most of its peak resident memory
 * (docs/performance.md, "API memory under 200 MB"). Set at start, before the first full collection; Node accepts
 * the flag on the command line only, not in NODE_OPTIONS, and this is the one place every way of starting the API
 * passes through.
 */
export const HEAP_GROWING_PERCENT = 50;

setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
