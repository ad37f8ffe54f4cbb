// Hash routes (#/pair/demo): the browser-mode server has no index.html fallback, so the path never changes.

export type Route =
  | { name: 'overview' }
  | { name: 'pair'; id: string }
  | { name: 'hosts' }
  | { name: 'host'; id: string }
  | { name: 'audit' }
  | { name: 'not-found'; path: string };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '');
  if (path === '' || path === '/' || path === '/overview') return { name: 'overview' };
  if (path === '/hosts') return { name: 'hosts' };
  if (path === '/audit') return { name: 'audit' };
  const m = /^\/(pair|host)\/([^/]+)$/.exec(path);
  if (m !== null) {
    try {
      const id = decodeURIComponent(m[2]!);
      if (id !== '') return { name: m[1] === 'host' ? 'host' : 'pair', id };
    } catch {
      // fall through: a malformed escape is simply not a route
    }
  }
  return { name: 'not-found', path };
}

export function hrefFor(route: Route): string {
  switch (route.name) {
    case 'overview':
      return '#/';
    case 'pair':
      return `#/pair/${encodeURIComponent(route.id)}`;
    case 'hosts':
      return '#/hosts';
    case 'host':
      return `#/host/${encodeURIComponent(route.id)}`;
    case 'audit':
      return '#/audit';
    case 'not-found':
      return `#${route.path}`;
  }
}
