import t from 'tap';
import { runShortScenarios } from './chaos/short-form.js';

// Scale-out: two projector instances share a consumer group; one SIGKILLed mid-stream.
await runShortScenarios(t, ['projectors-scaled-out']);
t.end();
