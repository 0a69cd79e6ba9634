// What the proxy subresources change in a backend's answer (follows apimachinery
// pkg/util/proxy/transport.go): same-host absolute links in HTML and redirects get the proxy path
// in front, so a page served at /api/v1/namespaces/ns/services/web:80/proxy/ links back through it.

// Tags and their URL-valued attributes (HTML 4 and 5 attribute indexes, as upstream's table).
const urlAttrs: Record<string, readonly string[]> = {
  a: ['href'],
  applet: ['codebase'],
  area: ['href'],
  audio: ['src'],
  base: ['href'],
  blockquote: ['cite'],
  body: ['background'],
  button: ['formaction'],
  command: ['icon'],
  del: ['cite'],
  embed: ['src'],
  form: ['action'],
  frame: ['longdesc', 'src'],
  head: ['profile'],
  html: ['manifest'],
  iframe: ['longdesc', 'src'],
  img: ['longdesc', 'src', 'usemap'],
  input: ['src', 'usemap', 'formaction'],
  ins: ['cite'],
  link: ['href'],
  object: ['classid', 'codebase', 'data', 'usemap'],
  q: ['cite'],
  script: ['src'],
  source: ['src'],
  video: ['poster', 'src'],
};

/** How links are rewritten: the proxy path, and the hosts that count as "this page's host". */
export interface RewriteContext {
  /** The proxy path to put in front, e.g. /api/v1/namespaces/ns/services/web:80/proxy. */
  pathPrepend: string;
  /** host:port of the backend the answer came from. */
  backendHost: string;
  /** The Host header the client sent (kubectl proxy's own address, or the API server's). */
  requestHost: string;
}

/** Joins URL paths as Go's path.Join does for absolute paths (cleans `.`, `..` and `//`). */
function joinPath(a: string, b: string): string {
  const out: string[] = [];
  for (const seg of `${a}/${b}`.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
}

/**
 * Rewrites one URL found in a proxied answer: an absolute path, or an absolute URL to the
 * backend's or the request's host, gets the proxy path in front; anything else is left alone.
 * @example rewriteUrl('/static/a.css', ctx) // '/api/v1/namespaces/ns/services/web:80/proxy/static/a.css'
 */
export function rewriteUrl(target: string, ctx: RewriteContext): string {
  const m = /^(?:([a-zA-Z][a-zA-Z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(.*)$/.exec(target);
  if (!m) return target;
  const [, scheme, host, path = '', rest = ''] = m;
  if (scheme !== undefined && host === undefined) return target; // mailto:, javascript:, data:
  const isDifferentHost =
    host !== undefined && host !== '' && host !== ctx.backendHost && host !== ctx.requestHost;
  if (isDifferentHost || !path.startsWith('/')) return target;
  // The proxy has no scheme and host of its own to put there, so the link becomes host-relative,
  // except a link that already names the request's host, which keeps it.
  const prefix =
    host !== undefined && host === ctx.requestHost ? `${scheme ? `${scheme}:` : ''}//${host}` : '';
  if (path.startsWith(ctx.pathPrepend)) return `${prefix}${path}${rest}`;
  let joined = joinPath(ctx.pathPrepend, path);
  if (path.endsWith('/') && !joined.endsWith('/')) joined += '/';
  return `${prefix}${joined}${rest}`;
}

const tagPattern = /<([a-zA-Z][a-zA-Z0-9]*)(\s[^<>]*?)?(\/?)>/g;
const attrPattern = /(\s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)(\s*=\s*)("[^"]*"|'[^']*'|[^\s"'=<>`]+)/g;

/** Rewrites the URL-valued attributes of an HTML document's tags (upstream rewriteHTML). */
export function rewriteHtml(html: string, ctx: RewriteContext): string {
  return html.replace(tagPattern, (tag, name: string, attrs: string | undefined, close: string) => {
    const wanted = urlAttrs[name.toLowerCase()];
    if (!wanted || !attrs) return tag;
    const rewritten = attrs.replace(
      attrPattern,
      (whole, space: string, attr: string, eq: string, value: string) => {
        if (!wanted.includes(attr.toLowerCase())) return whole;
        const quote = value[0] === '"' || value[0] === "'" ? value[0] : '';
        const raw = quote ? value.slice(1, -1) : value;
        return `${space}${attr}${eq}${quote}${rewriteUrl(raw, ctx)}${quote}`;
      },
    );
    return `<${name}${rewritten}${close}>`;
  });
}
