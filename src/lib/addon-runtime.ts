// Node settings of the bundled add-on processes (ingress controller, metrics-server): they are
// small, long-lived API clients, so a young generation of 1 MB (V8's default grows to 16 MB per
// semi-space) and a capped old generation keep their idle footprint down (issue #17).

/** NODE_OPTIONS of the add-on pods. */
export const addonNodeOptions = '--max-semi-space-size=1 --max-old-space-size=96';
