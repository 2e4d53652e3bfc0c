import t from 'tap';
import { schemaKnownPointer } from './validate.js';

t.test("a refusal's pointer is kept only as far as the schema defines it", async (t) => {
  t.equal(schemaKnownPointer('ParticipantReferred', '/data/referralDate'), '/data/referralDate');
  t.equal(schemaKnownPointer('ParticipantReferred', '/data/riskFactors/3'), '/data/riskFactors/3');
  t.equal(schemaKnownPointer('ParticipantReferred', '/data/Jane Doe 2009-03-04 DE23 1AB'), '/data');
  t.equal(schemaKnownPointer('ParticipantReferred', '/Jane Doe'), '/');
  t.equal(schemaKnownPointer('OutcomeMeasured', '/data/customRange/min'), '/data/customRange/min');
  t.equal(schemaKnownPointer('OutcomeMeasured', '/data/customRange/jane'), '/data/customRange');
  t.equal(schemaKnownPointer('JaneDoe', '/data/referralDate'), '/', 'an unknown type knows no field');
  t.equal(schemaKnownPointer(null, '/eventId'), '/');
});
