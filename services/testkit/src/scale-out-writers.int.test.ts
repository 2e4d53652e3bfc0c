import t from 'tap';
import { runShortScenarios } from './chaos/short-form.js';

// Scale-out: two API instances on one store; two relays, the active one SIGKILLed.
await runShortScenarios(t, ['two-apis', 'relay-takeover']);
t.end();
