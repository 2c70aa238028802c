/**
 * Where clients reach the api, for the absolute URLs of answers read outside a browser (the
 * feed URL, the calendar's links) and for the origin a browser's request must come from (the
 * queue dashboard's cross-site check): `PUBLIC_BASE_URL` when the server has one (behind a
 * proxy, the request's own scheme and host are the proxy's side of it; it may carry a path
 * prefix), else the request's protocol and `Host`.
 */
export function publicBaseUrl(
  request: { readonly protocol: string; readonly host: string },
  configured?: string,
): string {
  return configured ?? `${request.protocol}://${request.host}`;
}
