/** The package version, in one light module so clients can name it without loading the engine. */
export const VERSION = '0.1.0';
