/** A report query over a read model the projector has not created yet answers no rows rather than failing. */
export function emptyIfNoReadModel(err: unknown): never[] {
  if (typeof err === 'object' && err !== null && 'code' in err && (err.code === '3F000' || err.code === '42P01'))
    return [];
  throw err;
}
