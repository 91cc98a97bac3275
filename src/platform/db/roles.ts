/** The role request and job code runs as: owns no table, cannot bypass row-level security. */
export const APP_ROLE = 'custos_app';
