import t from 'tap';
import { EventCatalogue, eventDefinition, type ReadEvent } from '@vru/contracts';
import { projections } from './index.js';
import { storedEvent as stored } from './stored-event.testing.js';

/**
 * A projection is given the personal fields of the event types it declares (readsPersonalFieldsOf) and no others:
 * every other event reaches it with them left sealed and out of its data, live and in a replay alike. So its rows must
 * not depend on them: each handled type's catalogue example projects to the same rows with its personal fields and
 * without them.
 */

for (const projection of projections) {
  t.test(`${projection.name}: rows do not depend on personal fields it does not read`, async (t) => {
    const declared = new Set<string>(projection.readsPersonalFieldsOf ?? []);
    for (const type of declared) {
      t.ok(projection.handles.includes(type as ReadEvent['type']), `${type} is a type it handles`);
      t.ok((eventDefinition(type)!.personalFields ?? []).length > 0, `${type} has personal fields`);
    }
    for (const type of projection.handles) {
      const definition = EventCatalogue[type];
      const personal: readonly string[] = definition.personalFields ?? [];
      if (personal.length === 0 || declared.has(type)) continue;
      const example = definition.example;
      t.ok(
        personal.some((f) => example[f] !== undefined),
        `${type}'s example holds a personal field`,
      );
      const without = Object.fromEntries(Object.entries(example).filter(([k]) => !personal.includes(k)));
      t.same(
        projection.project(stored(type, without) as ReadEvent),
        projection.project(stored(type, example) as ReadEvent),
        `${type}: the same rows without ${personal.filter((f) => example[f] !== undefined).join(', ')}`,
      );
    }
  });
}
