const path = require('path');

/** Path of the static loader binary for an image arch. */
function loaderPath(arch) {
  const name = { 'x86-64': 'gate-run-x86_64', arm64: 'gate-run-aarch64' }[arch];
  if (!name) throw new Error(`no loader for arch ${arch}`);
  return path.join(__dirname, 'build', name);
}

module.exports = { loaderPath };
