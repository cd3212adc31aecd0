// A module that does not parse: the runtime fails the init.
export const handler = async (event) => {
  return { ok: true ;
};
