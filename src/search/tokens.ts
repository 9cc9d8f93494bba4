import { countTokens as cl100kCount } from 'gpt-tokenizer/encoding/cl100k_base';

/**
 * Tokens in a text, counted with a real BPE tokenizer: OpenAI's cl100k_base via gpt-tokenizer. Claude's tokenizer is
 * not public; cl100k is the closest widely used one, and budgets are set with headroom for the difference.
 */
export const countTokens = (text: string): number => (text.length === 0 ? 0 : cl100kCount(text));
