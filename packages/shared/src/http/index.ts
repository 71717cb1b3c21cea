/** The SaaS HTTP client every connector uses. */
export {
  createHttpClient,
  buildUrl,
  redactQueryString,
  redactUrlForDisplay,
  secretVariants,
  DEFAULT_TIMEOUT_MS,
  SENSITIVE_QUERY_NAME,
  type HttpClient,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
  type RequestOptions,
  type RequestOptionsWithoutBody,
} from './client.js';
export {
  DEFAULT_RETRY_POLICY,
  PRE_CONNECT_CODES,
  RETRYABLE_NETWORK_CODES,
  abortableSleep,
  backoffDelayMs,
  isIdempotentMethod,
  nextDelayMs,
  resolveRetryPolicy,
  retryModeFor,
  shouldRetry,
  type AttemptFailure,
  type HttpMethod,
  type RetryMode,
  type RetryOptions,
  type RetryPolicy,
} from './retry.js';
export {
  DEFAULT_OVERLIMIT_RESET_MS,
  LIMIT_HEADERS,
  REMAINING_HEADERS,
  RESET_HEADERS,
  THIRTY_YEARS_SECONDS,
  getHeader,
  parseRateLimitHeaders,
  parseResetTime,
  parseRetryAfterMs,
  serverRetryDelayMs,
  type HeaderBag,
  type ParseRateLimitOptions,
} from './rate-limit-headers.js';
export {
  HttpClientError,
  HttpTransportError,
  MAX_BODY_EXCERPT,
  abortedError,
  bodyExcerpt,
  codeForHttpStatus,
  endpointError,
  httpStatusError,
  malformedBodyError,
  networkError,
  statusText,
  timeoutError,
  type HttpErrorDetails,
  type Redactor,
} from './errors.js';
export {
  asConfigurationCheck,
  describeEndpointProblem,
  endpointProblemOf,
  getEndpointHint,
  inConfigurationCheck,
  setEndpointHint,
  type EndpointHint,
  type EndpointProblem,
} from './config-check.js';
export { observeHttpWaits, type HttpWaitEvent, type HttpWaitListener } from './wait-events.js';
/** RFC 8288 `Link` header paging: parse and format the header, follow `rel="next"` safely, serve big API pages in slices. */
export {
  LinkPager,
  formatLinkHeader,
  nextPagePath,
  parseLinkHeader,
  type LinkPageState,
  type LinkPagerOptions,
  type LinkSlice,
  type LinkTarget,
  type WebLink,
} from './link-paging.js';
/** OAuth 2.0 client-credentials tokens, refreshed before expiry, and an HttpClient that sends them as bearer tokens. */
export {
  ClientCredentialsTokenSource,
  withBearerToken,
  type AccessToken,
  type ClientCredentialsOptions,
} from './oauth2.js';
/** JSON:API list documents: the media type, `data`, paging by `links.next` in host-sized chunks. */
export {
  JSON_API_MEDIA_TYPE,
  jsonApiData,
  jsonApiNextLink,
  linkedPageChunk,
  parseLinkedPageState,
  sameOriginPath,
  type LinkedPage,
  type LinkedPageState,
} from './json-api.js';
/** A bounded cache of API answers one RPC reads and a later RPC of the same sync needs. */
export { ResponseCache, type ResponseCacheOptions } from './response-cache.js';
