/** The application's name in resource descriptions and messages. */
export const PRODUCT = 'VEGA';
