/** Resolves on the event loop's next turn (after pending I/O), so a long job done in steps lets requests in between. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
