export * from './base64url';
export * from './errors';
export * from './suite';
export * from './wire';
