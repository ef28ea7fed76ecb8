/** The stream room's state model and session reducers under one name for the pure tests (`S.`). */
export * from '../../../src/stream/model.ts';
export * from '../../../src/stream/sessions.ts';
