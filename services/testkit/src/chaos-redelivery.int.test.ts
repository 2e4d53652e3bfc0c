import t from 'tap';
import { runShortScenarios } from './chaos/short-form.js';

// Fault injection, short form of scripts/chaos: every message delivered twice.
await runShortScenarios(t, ['duplicate-delivery']);
t.end();
