// Injected into the CommonJS main bundle by build.ts (esbuild `inject`), where the ESM sources' import.meta.url
// would otherwise be undefined: core/ code that finds files relative to itself (package.json for the version,
// say) then works from out/electron/main.cjs as it does from its source file.

import { pathToFileURL } from 'node:url';

export const importMetaUrl = pathToFileURL(__filename).href;
