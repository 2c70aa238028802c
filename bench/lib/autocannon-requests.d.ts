/** The part of autocannon's API for requests that change from one to the next (GET paths). */
export {};

declare module 'autocannon' {
  interface RequestData {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
  }

  interface Options {
    /** Cycled in turn; `setupRequest` may rewrite each request before it is sent. */
    requests?: Array<RequestData & { setupRequest?: (request: RequestData) => RequestData }>;
  }
}
