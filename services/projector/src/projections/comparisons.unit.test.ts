import t from 'tap';
import type { StoredEvent } from '@vru/contracts';
import { projectComparison } from './comparisons.js';

let position = 0;
const stored = (type: string, data: Record<string, unknown>, streamId = 'comparison-x'): StoredEvent => ({
  position: String(++position),
  eventId: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
  streamId,
  streamVersion: position,
  type,
  schemaVersion: 1,
  providerId: 'derbyshire-police',
  programmeId: null,
  occurredAt: '2026-01-01T00:00:00Z',
  recordedAt: '2026-01-01T00:00:00Z',
  data,
  metadata: { requestId: 'r', keyId: 'k', role: 'data-partner', source: 'api' },
});

const record = {
  poolId: 'derby-2025',
  indexDate: '2025-10-01',
  indexEvent: 'caution',
  birthYearMonth: '2009-04',
  gender: 'female',
  ethnicity: 'black-caribbean',
  policeDistrict: 'derby-south',
  priorOffences: 3,
  priorSeriousViolence: true,
  priorCustody: false,
  definitionsVersion: 1,
};

t.test('a comparison record keeps coarse covariates only', async (t) => {
  const [row] = projectComparison(stored('ComparisonRecordSubmitted', record));
  t.same(row, {
    kind: 'record',
    streamId: 'comparison-x',
    dataPartnerId: 'derbyshire-police',
    poolId: 'derby-2025',
    indexDate: '2025-10-01',
    indexEvent: 'caution',
    ageAtIndex: 16,
    gender: 'female',
    ethnicityGroup: 'black',
    area: 'derby-south',
    priorOffences: 3,
    priorSeriousViolence: true,
    priorCustody: false,
  });
  t.notMatch(
    JSON.stringify(row),
    /2009-04|black-caribbean/,
    'neither the birth month nor the detailed ethnic group is kept',
  );
});

t.test('a record replayed after erasure keeps its dates and no covariate', async (t) => {
  const erasedData = {
    poolId: 'derby-2025',
    indexDate: '2025-10-01',
    indexEvent: 'caution',
    definitionsVersion: 1,
    $erased: true,
  };
  const [row] = projectComparison(stored('ComparisonRecordSubmitted', erasedData));
  t.match(row, {
    ageAtIndex: null,
    gender: null,
    ethnicityGroup: null,
    area: null,
    priorOffences: null,
    priorSeriousViolence: null,
    priorCustody: null,
  });
  t.same(
    projectComparison(stored('ComparisonRecordErased', { requestedOn: '2026-01-01', basis: 'data-subject-request' })),
    [{ kind: 'erased', streamId: 'comparison-x' }],
  );
  t.same(
    projectComparison(stored('ComparisonOffenceRecorded', { $erased: true })),
    [],
    'an offence whose details are shredded is not kept',
  );
});

t.test('offences carry what the reoffending rule and prior custody need', async (t) => {
  const [row] = projectComparison(
    stored('ComparisonOffenceRecorded', {
      offenceDate: '2026-01-10',
      provenDate: '2026-03-01',
      disposal: 'conviction',
      offenceCategory: 'robbery',
      seriousViolence: false,
      custodial: true,
    }),
  );
  t.match(row, {
    kind: 'offence',
    streamId: 'comparison-x',
    offenceDate: '2026-01-10',
    provenDate: '2026-03-01',
    seriousViolence: false,
    custodial: true,
  });
  t.same(projectComparison(stored('OffenceRecorded', {})), [], "participants' offences are not comparison rows");
});
