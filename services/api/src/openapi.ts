import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';

export const openapiOptions: FastifyDynamicSwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'VRU intervention outcomes API',
      version: '1.0.0',
      description: [
        'Providers commissioned by a Violence Reduction Unit submit what happens to each participant (referral, consent,',
        'enrolment, sessions, outcome measures, exit, follow-ups) and spend against their grants. Every submission is an',
        'immutable event, idempotent by its `eventId`. Errors are RFC 9457 problem details naming each field and rule.',
        "Participant references must be the provider's own pseudonymous reference, never a name.",
      ].join(' '),
    },
    servers: [{ url: 'http://127.0.0.1:8080' }],
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key issued by the VRU: `vru_<id>_<secret>`.' },
      },
    },
    security: [{ apiKey: [] }],
    tags: [
      { name: 'events', description: 'Submitting participant and grant events' },
      { name: 'imports', description: 'Submitting events as CSV files, with a template per event type' },
      { name: 'participants', description: "Reading back a provider's own participants" },
      { name: 'reports', description: 'Outcome and spend reports computed from the read models' },
      { name: 'returns', description: 'Frozen returns (signed, unchanged for good) and their restatements' },
      { name: 'audit', description: 'Tamper-evident audit ledger and evidence trails for funders' },
      { name: 'admin', description: 'API keys, providers and programmes (commissioners and admins)' },
      { name: 'operations', description: 'Health and readiness' },
    ],
  },
};
