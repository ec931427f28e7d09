import type { ImageAnalysis, ImageLabel, SentimentLabel, TextAnalysis } from '../../connectors/ml/index.js';
import { randomFor } from '../shared/random.js';

/**
 * The simulated models: pure functions of (seed, input), so the same input always gets the same
 * result. Image labels are drawn from a vocabulary (words of the URL that name a label come first,
 * with the highest scores); text gets a script/stop-word language guess, a lexicon sentiment,
 * keyword topics, and its @mentions and #hashtags.
 */

export const IMAGE_MODEL = 'sim-vision-1';
export const TEXT_MODEL = 'sim-text-1';

const LABELS = [
  'person',
  'face',
  'text',
  'food',
  'dog',
  'cat',
  'car',
  'building',
  'sky',
  'tree',
  'beach',
  'mountain',
  'screen',
  'guitar',
  'ball',
  'plant',
  'book',
  'shoe',
  'dress',
  'phone',
  'kitchen',
  'microphone',
  'logo',
  'night',
  'crowd',
  'bicycle',
  'coffee',
  'laptop',
  'stage',
  'water',
];

const round3 = (value: number): number => Math.round(value * 1000) / 1000;

export function analyzeImage(seed: number, url: string): ImageAnalysis {
  const { next } = randomFor(seed, 'image', url);
  const words = new Set(url.toLowerCase().split(/[^a-z]+/));
  const chosen = LABELS.filter((label) => words.has(label)).slice(0, 3);
  const count = 3 + Math.floor(next() * 4);
  while (chosen.length < count) {
    const label = LABELS[Math.floor(next() * LABELS.length)]!;
    if (!chosen.includes(label)) chosen.push(label);
  }
  let score = 0.85 + next() * 0.14;
  const labels: ImageLabel[] = chosen.map((label) => {
    const current = round3(score);
    score = Math.max(0.3, score - (0.03 + next() * 0.17));
    return { label, score: current };
  });
  return { kind: 'image', model: IMAGE_MODEL, labels };
}

const STOP_WORDS: Readonly<Record<string, readonly string[]>> = {
  en: ['the', 'and', 'is', 'this', 'you', 'it', 'of', 'to', 'for', 'with', 'what', 'my'],
  de: ['der', 'die', 'das', 'und', 'ist', 'nicht', 'ich', 'mit', 'ein', 'eine'],
  fr: ['le', 'la', 'les', 'et', 'est', 'une', 'des', 'pour', 'je', 'pas', 'avec'],
  es: ['el', 'los', 'las', 'que', 'es', 'por', 'para', 'una', 'con', 'muy', 'pero'],
  pt: ['o', 'os', 'que', 'não', 'uma', 'com', 'para', 'muito', 'isso', 'você'],
  it: ['il', 'che', 'è', 'non', 'una', 'per', 'con', 'sono', 'molto', 'gli'],
};

const SCRIPTS: readonly (readonly [RegExp, string])[] = [
  [/[\u3040-\u30ff]/u, 'ja'],
  [/[\uac00-\ud7af]/u, 'ko'],
  [/[\u4e00-\u9fff]/u, 'zh'],
  [/[\u0600-\u06ff]/u, 'ar'],
  [/[іїєґІЇЄҐ]/u, 'uk'],
  [/[\u0400-\u04ff]/u, 'ru'],
];

function language(words: readonly string[], text: string): string {
  for (const [pattern, code] of SCRIPTS) if (pattern.test(text)) return code;
  if (words.length === 0) return 'und';
  let best = 'en';
  let hits = 0;
  for (const [code, stop] of Object.entries(STOP_WORDS)) {
    const n = words.filter((w) => stop.includes(w)).length;
    if (n > hits) [best, hits] = [code, n];
  }
  return best;
}

const POSITIVE = [
  'good',
  'great',
  'love',
  'loved',
  'awesome',
  'amazing',
  'best',
  'nice',
  'thanks',
  'thank',
  'helpful',
  'beautiful',
  'cool',
  'excellent',
  'perfect',
  'wow',
  'супер',
  'класс',
  'отлично',
  'спасибо',
  'люблю',
  'круто',
  'лучший',
  'прекрасно',
  '❤',
  '❤️',
  '😍',
  '🎉',
  '👍',
  '🔥',
];
const NEGATIVE = [
  'bad',
  'worst',
  'hate',
  'boring',
  'awful',
  'terrible',
  'ugly',
  'fake',
  'scam',
  'disappointed',
  'poor',
  'плохо',
  'ужасно',
  'отстой',
  'скучно',
  'фейк',
  'хуже',
  '👎',
  '😡',
  '💩',
];

const TOPICS: Readonly<Record<string, readonly string[]>> = {
  music: ['music', 'song', 'guitar', 'concert', 'album', 'band', 'музыка', 'песня'],
  gaming: ['game', 'gaming', 'gameplay', 'stream', 'minecraft', 'игра'],
  food: ['food', 'recipe', 'kitchen', 'cooking', 'coffee', 'dinner', 'еда', 'рецепт'],
  tech: ['tech', 'phone', 'laptop', 'review', 'unboxing', 'code', 'ai', 'гаджет'],
  travel: ['travel', 'trip', 'beach', 'mountain', 'hotel', 'путешествие'],
  sports: ['sport', 'football', 'goal', 'match', 'training', 'fitness', 'спорт'],
  beauty: ['makeup', 'beauty', 'skincare', 'hair', 'dress', 'fashion', 'мода'],
  education: ['tutorial', 'lesson', 'learn', 'explained', 'course', 'урок'],
};

const unique = (items: readonly string[]): string[] => [...new Set(items)];

export function analyzeText(text: string): TextAnalysis {
  const lower = text.toLowerCase();
  const mentions = unique(
    [...lower.matchAll(/(?<![\p{L}\p{N}_])@([\p{L}\p{N}_.]{1,30})/gu)].map((m) => m[1]!),
  );
  const hashtags = unique(
    [...lower.matchAll(/(?<![\p{L}\p{N}_&])#([\p{L}\p{N}_]{1,50})/gu)].map((m) => m[1]!),
  );
  const plain = lower.replace(/[@#][\p{L}\p{N}_.]+/gu, ' ');
  const words = plain.match(/[\p{L}\p{N}']+/gu) ?? [];
  const tokens = [...words, ...(plain.match(/\p{Extended_Pictographic}\uFE0F?/gu) ?? [])];
  const pos = tokens.filter((t) => POSITIVE.includes(t)).length;
  const neg = tokens.filter((t) => NEGATIVE.includes(t)).length;
  const score = round3((pos - neg) / Math.max(1, pos + neg));
  const label: SentimentLabel = score > 0.2 ? 'positive' : score < -0.2 ? 'negative' : 'neutral';
  const vocabulary = [...words, ...hashtags];
  const topics = Object.entries(TOPICS)
    .map(([topic, keys]) => ({ topic, hits: vocabulary.filter((w) => keys.includes(w)).length }))
    .filter((t) => t.hits > 0)
    .sort((a, b) => b.hits - a.hits || a.topic.localeCompare(b.topic))
    .slice(0, 3)
    .map((t) => t.topic);
  return {
    kind: 'text',
    model: TEXT_MODEL,
    language: language(words, text),
    sentiment: { label, score },
    topics,
    mentions,
    hashtags,
  };
}
