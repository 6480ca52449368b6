export * from './backup-key';
export * from './random';
export * from './reexports';
export * from './vault-client';
export * from './recovery-key';
export * from './backup';
