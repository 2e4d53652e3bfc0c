import t from 'tap';
import { runShortScenarios } from './chaos/short-form.js';

// Fault injection, short form of scripts/chaos: Kafka and PostgreSQL (a cluster of the test's own) stopped under load.
await runShortScenarios(t, ['broker-stopped', 'postgres-stopped']);
t.end();
