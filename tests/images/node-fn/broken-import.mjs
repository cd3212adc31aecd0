// Imports a package the image does not have: the runtime fails the init.
import { somethingMissing } from "no-such-package-in-this-image";

export const handler = async () => somethingMissing();
