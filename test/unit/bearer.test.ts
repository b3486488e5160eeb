import { bearerMatches } from '../../src/auth/bearer';

describe('bearerMatches', () => {
  const token = 'metrics-token-0123456789';
  it.each([
    ['the exact bearer header', `Bearer ${token}`, true],
    ['no header', undefined, false],
    ['another token', 'Bearer metrics-token-0123456788', false],
    ['the token without the scheme', token, false],
    ['a prefix of the token', `Bearer ${token.slice(0, -1)}`, false],
  ])('accepts only the token: %s', (_name, header, ok) => {
    expect(bearerMatches(header, token)).toBe(ok);
  });
});
