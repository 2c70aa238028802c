export const ACCORD_CONFIG = Symbol('ACCORD_CONFIG');
