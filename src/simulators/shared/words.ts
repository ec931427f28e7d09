/** Words the simulators build names from (handles, usernames, titles): the same everywhere. */
export const ADJECTIVES = [
  'quiet',
  'rapid',
  'golden',
  'hidden',
  'little',
  'modern',
  'wild',
  'lucky',
  'brave',
  'daily',
];
export const NOUNS = [
  'river',
  'kitchen',
  'garage',
  'studio',
  'orbit',
  'garden',
  'pixel',
  'atlas',
  'harbor',
  'forge',
];
