import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import t from 'tap';
import { buildAsyncApi } from './asyncapi.js';
import { AllEnvelopeSchemas } from './catalogue.js';

const COMMITTED = fileURLToPath(new URL('../asyncapi.json', import.meta.url));

t.test('the committed AsyncAPI document matches the schemas (regenerate with scripts/asyncapi)', async (t) => {
  const committed = JSON.parse(await readFile(COMMITTED, 'utf8'));
  t.same(buildAsyncApi(), committed, 'contracts/asyncapi.json is out of date: run scripts/asyncapi and commit it');
});

t.test('the document is valid AsyncAPI 3 (no error diagnostics from @asyncapi/parser)', async (t) => {
  const text = await readFile(COMMITTED, 'utf8');
  const { document, diagnostics } = await new Parser().parse(text);
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-comparison -- the parser's diagnostics and its DiagnosticSeverity export come from two versions of @stoplight/types: the same numbers, two enum types
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  t.same(
    errors.map((d) => `${d.code}: ${d.message} at ${d.path.join('/')}`),
    [],
  );
  t.ok(document, 'parsed');
  t.equal(document!.version(), '3.0.0');
  const channel = document!.channels().all()[0]!;
  t.equal(channel.address(), 'participant-events');
  t.equal(
    channel.messages().length,
    AllEnvelopeSchemas.length,
    'one message per event type and version, like the OpenAPI contract',
  );
});

t.test('each message names its key, headers and the shape of its data', async (t) => {
  const doc = buildAsyncApi() as { components: { messages: Record<string, any> } };
  const v1 = doc.components.messages.SessionAttendedV1;
  const v2 = doc.components.messages.SessionAttendedV2;
  t.ok(v1 && v2, 'both versions of SessionAttended');
  t.equal(v2.payload.properties.schemaVersion.const, 2);
  t.ok(v2.payload.properties.data.properties.deliveredBy, 'v2 data has deliveredBy');
  t.notOk(v1.payload.properties.data.properties.deliveredBy, 'v1 data does not');
  t.same(Object.keys(v1.headers.properties).sort(), ['correlation-id', 'event-id', 'event-type', 'schema-version']);
  t.match(v1.bindings.kafka.key.description, /[Ss]tream id/);
});
