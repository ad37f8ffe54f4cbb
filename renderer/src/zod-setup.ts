// Imported first: zod's fast path compiles validators with `new Function`, which the page's CSP (script-src
// 'self', no 'unsafe-eval') forbids; even zod's probe for it would be reported as a CSP violation. Run jitless.
import { z } from 'zod';

z.config({ jitless: true });
