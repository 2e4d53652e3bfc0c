import t from 'tap';
import { commandFor, type StreamCommand, type StreamEvent } from '../decision.js';
import { spec } from '../testing/spec.js';
import { comparisonDecider } from './decide.js';

const NOW = '2026-06-01T12:00:00.000Z';

let counter = 0;
function fact(
  type: string,
  data: Record<string, unknown>,
  occurredAt = '2026-05-01T10:00:00Z',
): StreamEvent<'comparison'> {
  counter += 1;
  return {
    eventId: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    type,
    occurredAt,
    data,
  } as StreamEvent<'comparison'>;
}

const submitted = (over: Record<string, unknown> = {}) =>
  fact('ComparisonRecordSubmitted', {
    poolId: 'derby-2025',
    indexDate: '2025-10-01',
    indexEvent: 'caution',
    ageAtIndex: 16,
    gender: 'male',
    ethnicity: 'white-british',
    postcodeDistrict: 'DE23',
    priorOffences: 1,
    priorSeriousViolence: false,
    priorCustody: false,
    definitionsVersion: 1,
    ...over,
  });
const offence = (over: Record<string, unknown> = {}) =>
  fact('ComparisonOffenceRecorded', {
    offenceDate: '2026-01-10',
    provenDate: '2026-03-01',
    disposal: 'conviction',
    offenceCategory: 'robbery',
    seriousViolence: false,
    custodial: false,
    ...over,
  });
const erased = () => fact('ComparisonRecordErased', { requestedOn: '2026-05-01', basis: 'data-subject-request' });

const record = (event: StreamEvent<'comparison'>) => commandFor(event, { now: NOW }) as StreamCommand<'comparison'>;
const given = (history: StreamEvent<'comparison'>[]) => spec(comparisonDecider).given(history);

t.test('When no record has been shared', async (t) => {
  t.test('should accept the record', async () => {
    const e = submitted();
    given([]).when(record(e)).then([e]);
  });
  t.test('should refuse an offence for an unknown record', async () => {
    given([]).when(record(offence())).thenThrows('unknown-comparison');
  });
  t.test('should refuse an erasure of an unknown record', async () => {
    given([]).when(record(erased())).thenThrows('unknown-comparison');
  });
  t.test('should refuse an index date in the future', async () => {
    given([])
      .when(record(submitted({ indexDate: '2026-07-01' })))
      .thenThrows('date-in-future');
  });
});

t.test('When the record has been shared', async (t) => {
  t.test('should accept its offences, before or after the index date', async () => {
    const before = offence({ offenceDate: '2024-01-01', provenDate: '2024-02-01', custodial: true });
    given([submitted()]).when(record(before)).then([before]);
    const after = offence();
    given([submitted()]).when(record(after)).then([after]);
  });
  t.test('should refuse a second record under the same reference', async () => {
    given([submitted()])
      .when(record(submitted({ ageAtIndex: 17 })))
      .thenThrows('comparison-already-submitted');
  });
  t.test('should refuse an offence proven in the future', async () => {
    given([submitted()])
      .when(record(offence({ provenDate: '2026-08-01' })))
      .thenThrows('date-in-future');
  });
  t.test('should accept an erasure', async () => {
    const e = erased();
    given([submitted()]).when(record(e)).then([e]);
  });
});

t.test('When the record has been erased', async (t) => {
  t.test('should refuse anything further', async () => {
    given([submitted(), erased()]).when(record(offence())).thenThrows('comparison-erased');
    given([submitted(), erased()]).when(record(erased())).thenThrows('comparison-erased');
  });
});
