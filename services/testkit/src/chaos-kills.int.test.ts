import t from 'tap';
import { runShortScenarios } from './chaos/short-form.js';

// Fault injection, short form of scripts/chaos: services SIGKILLed mid-load and restarted.
await runShortScenarios(t, ['api-killed', 'relay-projector-killed']);
t.end();
