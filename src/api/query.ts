// Query parameters as the API server and kubelet decode them into their option structs
// (apimachinery pkg/runtime/conversion.go Convert_Slice_string_To_bool).

/**
 * A boolean query parameter: absent is false; "0" or "false" in any case is false; any other
 * value, even an empty one, is true. So `watch=true`, `watch=True` (the Python client),
 * `watch=1`, `watch=t` and a bare `watch=` all watch, as upstream.
 * @example
 * queryBool(new URLSearchParams('watch=True'), 'watch'); // true
 * queryBool(new URLSearchParams('watch=FALSE'), 'watch'); // false
 */
export function queryBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null) return false;
  return v !== '0' && v.toLowerCase() !== 'false';
}
