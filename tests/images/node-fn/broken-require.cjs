// CommonJS: requires a package the image does not have; the runtime fails the init.
const missing = require("no-such-package-in-this-image");

exports.handler = async () => missing();
