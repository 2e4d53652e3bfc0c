import t from 'tap';
import { storedEventsById } from '@vru/event-store';
import { personalFieldsReadBy, projections } from '@vru/projector';
import { Harness, event } from '@vru/testkit';

/**
 * The attacker: whoever can read a projector's memory (a heap dump, a debugger, a compromised dependency). A projector
 * holds in clear only the personal fields its read model reads: a session's id (free text that has carried a
 * participant's name) reaches none, and a referral's personal fields reach the participants projection alone. The
 * events are opened as the consumer and the rebuild open them (PersonalDataVault.open with personalFieldsReadBy).
 */
const h = await Harness.start();
t.teardown(() => h.close());

const SESSION_ID = 'JANE-DOE-2026-09-14';

await t.test('each projection is given only the personal fields it reads', async (t) => {
  const posted = await h.postBatchAccepted(
    [
      event.referred('PF-1', { data: { gender: 'female', postcodeDistrict: 'NG7' } }),
      event.enrolled('PF-1'),
      event.attended('PF-1', SESSION_ID, '2026-09-14'),
      event.missed('PF-1', `${SESSION_ID}-B`, '2026-09-21'),
    ],
    h.keys.providerA,
  );
  const sealed = [
    ...(
      await storedEventsById(
        h.sql,
        posted.results.map((r) => r.eventId),
      )
    ).values(),
  ];
  t.equal(sealed.length, 4);
  t.notOk(JSON.stringify(sealed).includes(SESSION_ID), 'the session id is sealed in the store');

  for (const projection of projections) {
    const opened = await h.vault.open(h.sql, sealed, personalFieldsReadBy([projection]));
    const text = JSON.stringify(opened);
    t.notOk(text.includes(SESSION_ID), `${projection.name}: no session id in clear`);
    t.notOk(text.includes('$sealed'), `${projection.name}: nothing sealed left in the data`);
    const referral = opened.find((e) => e.type === 'ParticipantReferred')!;
    if (projection.name === 'participants')
      t.match(referral.data, { gender: 'female', postcodeDistrict: 'NG7' }, 'participants: the referral opened');
    else
      t.notOk(
        'gender' in referral.data || 'postcodeDistrict' in referral.data,
        `${projection.name}: no referral personal field`,
      );
  }

  const rebuild = await h.vault.open(h.sql, sealed, personalFieldsReadBy(projections));
  t.notOk(JSON.stringify(rebuild).includes(SESSION_ID), 'a rebuild of every read model opens no session id');
  const everything = await h.vault.open(h.sql, sealed);
  t.ok(JSON.stringify(everything).includes(SESSION_ID), 'the vault itself can still open it (the audit trail)');
});
