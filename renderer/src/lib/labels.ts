import type { SimSettings } from '../../../core/api/console-contract.js';

export const PRESET_LABEL: Readonly<Record<SimSettings['preset'], string>> = {
  idle: 'Idle',
  'file-server': 'File server (SMB upload)',
  'web-server': 'Web server',
  database: 'Database (OLTP)',
  batch: 'Memory-heavy batch',
};

export const LINK_LABEL: Readonly<Record<SimSettings['link'], string>> = {
  '1gbe': '1 GbE',
  '10gbe': '10 GbE',
  unlimited: 'Unlimited',
};
